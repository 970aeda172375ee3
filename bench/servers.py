"""The Redis and PostgreSQL servers a run uses: whether they answer, their
versions, and removing what the run left in them (only its own keys and
table: never a FLUSHALL)."""

from __future__ import annotations

from typing import Any

from apps import Resources


def check(resources: Resources) -> dict[str, str | None]:
    """For each server, ``None`` when it answers, else why not."""
    status: dict[str, str | None] = {}
    try:
        client = _redis(resources)
        try:
            client.ping()
            status["redis"] = None
        finally:
            client.close()
    except Exception as error:
        status["redis"] = f"Redis at {resources.redis_url}: {error}"
    try:
        import psycopg

        with psycopg.connect(resources.postgres_dsn, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        status["postgres"] = None
    except Exception as error:
        status["postgres"] = f"PostgreSQL at {resources.postgres_dsn!r}: {error}"
    return status


def versions(resources: Resources, status: dict[str, str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    if status.get("redis") is None:
        client = _redis(resources)
        try:
            found["Redis"] = str(client.info("server")["redis_version"])
        finally:
            client.close()
    if status.get("postgres") is None:
        import psycopg

        with psycopg.connect(resources.postgres_dsn, connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            found["PostgreSQL"] = str(row[0]) if row else "?"
    return found


def cleanup(resources: Resources, status: dict[str, str | None]) -> None:
    """Delete the run's Redis keys and drop its PostgreSQL table."""
    if status.get("redis") is None:
        client = _redis(resources)
        try:
            for pattern in (f"{resources.redis_prefix}*", f"beaker_lock:{resources.redis_prefix}*"):
                batch: list[Any] = []
                for key in client.scan_iter(match=pattern, count=1000):
                    batch.append(key)
                    if len(batch) >= 1000:
                        client.unlink(*batch)
                        batch = []
                if batch:
                    client.unlink(*batch)
        finally:
            client.close()
    if status.get("postgres") is None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(resources.postgres_dsn, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(resources.postgres_table))
            )


def _redis(resources: Resources) -> Any:
    import redis

    return redis.Redis.from_url(resources.redis_url, socket_timeout=5, socket_connect_timeout=3)
