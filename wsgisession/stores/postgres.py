"""A session store in PostgreSQL, in connect-pg-simple's table."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from typing import TypeVar

try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "PostgresStore needs psycopg 3 and psycopg_pool: pip install 'wsgisession[postgres]'"
    ) from error

from ..record import Record, dumps, expires_at
from .base import DEFAULT_TTL, Store, positive_int, positive_seconds

T = TypeVar("T")

Connection = psycopg.Connection[tuple[object, ...]]


class PostgresStore(Store):
    """Sessions in a PostgreSQL table, for many hosts and SQL shops.

    The table is connect-pg-simple's, so Node and Python applications share
    it: ``sid varchar`` primary key, ``sess json`` (the record) and
    ``expire timestamp(6)``, indexed. Writes are one upsert
    (``INSERT ... ON CONFLICT``); reads ignore expired rows; :meth:`touch`
    updates ``expire`` alone, and so do :meth:`refresh` and
    :meth:`get_and_refresh` (``UPDATE ... RETURNING``), working the new expiry
    out in SQL from the stored cookie's ``originalMaxAge``; and every
    ``prune_every`` writes a process deletes up to ``prune_batch`` expired
    rows.

    Connections come from a ``psycopg_pool.ConnectionPool``. When a
    connection turns out to be broken (the server restarted, a proxy dropped
    it), the pool is checked and the operation runs once more on a fresh
    connection; every statement is idempotent, so nothing is applied twice.

    :param conninfo: a libpq connection string or URL for a pool this store
        creates; ``""`` uses libpq's defaults and ``PG*`` variables.
    :param pool: a ready pool instead (the store does not close it). Its
        connections must be in autocommit mode or the store commits each
        operation itself.
    :param table: the table name (connect-pg-simple's default, ``session``).
    :param schema: the schema of the table; ``None`` follows ``search_path``.
    :param create_table: create the table and index when missing.
    :param ttl: seconds a record without a cookie expiry lives.
    :param max_size: the size of a pool this store creates.
    :param timeout: seconds a pool this store creates waits for a connection
        before the operation fails (psycopg_pool's default is 30).
    :param prune_every: writes between two prunes, per process.
    :param prune_batch: most expired rows one prune deletes.
    """

    def __init__(
        self,
        conninfo: str | None = None,
        *,
        pool: ConnectionPool[Connection] | None = None,
        table: str = "session",
        schema: str | None = None,
        create_table: bool = True,
        ttl: float = DEFAULT_TTL,
        max_size: int = 10,
        timeout: float = 5.0,
        prune_every: int = 100,
        prune_batch: int = 1000,
    ) -> None:
        if conninfo is not None and pool is not None:
            raise TypeError("PostgresStore takes a 'conninfo' or a 'pool', not both")
        if not isinstance(table, str) or not table:
            raise ValueError(f"PostgresStore option 'table' must be a table name: {table!r}")
        if schema is not None and (not isinstance(schema, str) or not schema):
            raise ValueError(f"PostgresStore option 'schema' must be a schema name: {schema!r}")
        ttl = positive_seconds("PostgresStore", "ttl", ttl)
        timeout = positive_seconds("PostgresStore", "timeout", timeout)
        for option, value in (
            ("max_size", max_size),
            ("prune_every", prune_every),
            ("prune_batch", prune_batch),
        ):
            positive_int("PostgresStore", option, value)
        self.ttl = float(ttl)
        self.prune_every = prune_every
        self.prune_batch = prune_batch
        self._writes = itertools.count(1)
        self._owns_pool = pool is None
        if pool is None:
            pool = ConnectionPool(
                "" if conninfo is None else conninfo,
                min_size=1,
                max_size=max_size,
                timeout=timeout,
                kwargs={"autocommit": True},
                open=True,
                name="wsgisession",
            )
        self.pool = pool
        name = sql.Identifier(table) if schema is None else sql.Identifier(schema, table)
        self._table = name
        self._table_name = table if schema is None else f"{schema}.{table}"
        self._index = sql.Identifier(_index_name(table))
        self._sql_get = sql.SQL(
            "SELECT sess FROM {} WHERE sid = %s AND expire > to_timestamp(%s)"
        ).format(name)
        self._sql_set = sql.SQL(
            "INSERT INTO {} (sid, sess, expire) VALUES (%s, %s::json, to_timestamp(%s))"
            " ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire"
        ).format(name)
        self._sql_delete = sql.SQL("DELETE FROM {} WHERE sid = %s").format(name)
        self._sql_touch = sql.SQL(
            "UPDATE {} SET expire = to_timestamp(%s) WHERE sid = %s AND expire > to_timestamp(%s)"
        ).format(name)
        # A refresh works the expiry out from the stored cookie's
        # originalMaxAge (milliseconds), as a touch would; the default TTL
        # without one.
        self._sql_refresh = sql.SQL(
            "UPDATE {} SET expire = to_timestamp(%(now)s + coalesce("
            "CASE WHEN json_typeof(sess::json -> 'cookie' -> 'originalMaxAge') = 'number'"
            " THEN (sess::json -> 'cookie' ->> 'originalMaxAge')::float8 / 1000 END, %(ttl)s))"
            " WHERE sid = %(sid)s AND expire > to_timestamp(%(now)s)"
        ).format(name)
        self._sql_get_and_refresh = self._sql_refresh + sql.SQL(" RETURNING sess")
        self._sql_prune = sql.SQL(
            "DELETE FROM {0} WHERE ctid = ANY(ARRAY("
            "SELECT ctid FROM {0} WHERE expire <= to_timestamp(%s) LIMIT %s))"
        ).format(name)
        if create_table:
            try:
                self._run("create_table", self._create_table)
            except BaseException:
                # The caller gets no store to close: close what we opened.
                self.close()
                raise

    def _create_table(self, connection: Connection) -> None:
        table = self._table
        with connection.transaction():
            # Workers starting together must not race to create the table.
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._table_name,))
            connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (sid varchar NOT NULL PRIMARY KEY,"
                    " sess json NOT NULL, expire timestamp(6) NOT NULL)"
                ).format(table)
            )
            connection.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (expire)").format(self._index, table)
            )

    def _run(self, operation: str, work: Callable[[Connection], T]) -> T:
        with self.errors(operation):
            try:
                return self._attempt(work)
            except PoolTimeout:
                raise
            except psycopg.OperationalError:
                # Broken connections: let the pool replace them, then retry once.
                self.pool.check()
                return self._attempt(work)

    def _attempt(self, work: Callable[[Connection], T]) -> T:
        with self.pool.connection() as connection:
            result = work(connection)
            if not connection.autocommit:
                connection.commit()
            return result

    def get(self, sid: str) -> Record | None:
        def get(connection: Connection) -> Record | None:
            row = connection.execute(self._sql_get, (sid, time.time())).fetchone()
            if row is None:
                return None
            return _decode(row[0])

        return self._run("get", get)

    def set(self, sid: str, record: Record) -> None:
        encoded = dumps(record)
        now = time.time()
        expire = expires_at(record, ttl=self.ttl, now=now)
        prune = next(self._writes) % self.prune_every == 0

        def set_(connection: Connection) -> None:
            if expire <= now:
                connection.execute(self._sql_delete, (sid,))
            else:
                connection.execute(self._sql_set, (sid, encoded, expire))
            if prune:
                connection.execute(self._sql_prune, (now, self.prune_batch))

        self._run("set", set_)

    def destroy(self, sid: str) -> None:
        self._run("destroy", lambda connection: connection.execute(self._sql_delete, (sid,)))

    def touch(self, sid: str, record: Record) -> None:
        now = time.time()
        expire = expires_at(record, ttl=self.ttl, now=now)
        self._run(
            "touch",
            lambda connection: connection.execute(self._sql_touch, (expire, sid, now)),
        )

    def refresh(self, sid: str) -> bool:
        parameters = self._refresh_parameters(sid)

        def refresh(connection: Connection) -> bool:
            return connection.execute(self._sql_refresh, parameters).rowcount > 0

        return self._run("refresh", refresh)

    def get_and_refresh(self, sid: str) -> Record | None:
        parameters = self._refresh_parameters(sid)

        def get_and_refresh(connection: Connection) -> Record | None:
            row = connection.execute(self._sql_get_and_refresh, parameters).fetchone()
            return None if row is None else _decode(row[0])

        return self._run("get_and_refresh", get_and_refresh)

    def _refresh_parameters(self, sid: str) -> dict[str, object]:
        return {"now": time.time(), "ttl": self.ttl, "sid": sid}

    def prune(self) -> int:
        """Delete up to ``prune_batch`` expired rows now; return how many went."""

        def prune(connection: Connection) -> int:
            cursor = connection.execute(self._sql_prune, (time.time(), self.prune_batch))
            return cursor.rowcount

        return self._run("prune", prune)

    def all(self) -> dict[str, Record]:
        query = sql.SQL("SELECT sid, sess FROM {} WHERE expire > to_timestamp(%s)").format(
            self._table
        )

        def all_(connection: Connection) -> dict[str, Record]:
            rows = connection.execute(query, (time.time(),)).fetchall()
            return {str(sid): _decode(sess) for sid, sess in rows}

        return self._run("all", all_)

    def length(self) -> int:
        query = sql.SQL("SELECT count(*) FROM {} WHERE expire > to_timestamp(%s)").format(
            self._table
        )

        def length(connection: Connection) -> int:
            row = connection.execute(query, (time.time(),)).fetchone()
            return int(row[0]) if row is not None else 0  # type: ignore[call-overload]

        return self._run("length", length)

    def clear(self) -> None:
        query = sql.SQL("DELETE FROM {}").format(self._table)
        self._run("clear", lambda connection: connection.execute(query))

    def close(self) -> None:
        """Close the connection pool, if this store created it."""
        if self._owns_pool:
            self.pool.close()


def _decode(value: object) -> Record:
    # psycopg parses json columns itself; a text column comes as a str.
    record = json.loads(value) if isinstance(value, str) else value
    if not isinstance(record, dict):
        raise ValueError(f"a session row holds {type(record).__name__}, not a JSON object")
    return record


def _index_name(table: str) -> str:
    # connect-pg-simple's name, unless PostgreSQL would cut it at 63 bytes
    # and so make two long table names share one.
    name = f"IDX_{table}_expire"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(table.encode()).hexdigest()[:10]
    return f"IDX_{table.encode()[:40].decode(errors='ignore')}_{digest}_expire"
