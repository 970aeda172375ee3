"""The benchmarked configurations: wsgisession with each store, the peers,
and the bare applications they are measured against.

Every configuration serves the same four views (see :mod:`driver`): ``/new``
and ``/modify`` do ``views = session.get("views", 0) + 1``, ``/read`` reads
``views``, ``/unused`` never touches the session; each answers ``ok``. The
WSGI middlewares (wsgisession, Beaker) wrap a plain WSGI function and are
measured against that function alone; the Flask peers are a Flask app with
one view and are measured against the same Flask app whose view leaves the
session alone (and which has no secret key, so Flask opens no session).

The same module is gunicorn's entry point for ``run.py --wrk``:
``apps:serve()`` builds the configuration named by ``BENCH_CONFIG``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from counting import (
    OpCounter,
    classify_calls,
    classify_redis,
    classify_sql,
    counting_postgres_pool,
    counting_redis_client,
    counting_subclass,
    store_methods,
    traced_sqlite,
)
from driver import SEEN, prepare

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

SECRET = "bench-secret-3f1c9a7e5b2d4c6a8e0f1b3d5c7a9e2f"
#: Every configuration's sessions live an hour.
LIFETIME = 3600
BODY = b"ok"
HEADERS = (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY))))


@dataclass(frozen=True)
class Resources:
    """Where the configurations keep their sessions, private to one run."""

    run_id: str
    workdir: Path
    redis_url: str = "redis://127.0.0.1:6379/0"
    postgres_dsn: str = "host=127.0.0.1 port=5432 dbname=test"

    @property
    def redis_prefix(self) -> str:
        """Every Redis key of the run starts with this (Beaker's locks with
        ``beaker_lock:`` before it)."""
        return f"bench:{self.run_id}:"

    @property
    def postgres_table(self) -> str:
        return f"bench_session_{self.run_id}"

    @property
    def sqlite_path(self) -> Path:
        return self.workdir / "sessions.db"

    def to_env(self) -> dict[str, str]:
        return {
            "BENCH_RUN_ID": self.run_id,
            "BENCH_WORKDIR": str(self.workdir),
            "BENCH_REDIS_URL": self.redis_url,
            "BENCH_POSTGRES_DSN": self.postgres_dsn,
        }

    @classmethod
    def from_env(cls) -> Resources:
        return cls(
            run_id=os.environ["BENCH_RUN_ID"],
            workdir=Path(os.environ["BENCH_WORKDIR"]),
            redis_url=os.environ["BENCH_REDIS_URL"],
            postgres_dsn=os.environ["BENCH_POSTGRES_DSN"],
        )


@dataclass
class Built:
    """A configuration made ready: the application, the counter of its store
    operations (``None``: it has no store), and how to release it."""

    app: WSGIApplication
    counter: OpCounter | None
    close: Callable[[], None] = field(default=lambda: None)


@dataclass(frozen=True)
class Config:
    key: str
    peer: str
    store: str
    #: The key of the bare application it is measured against; ``None`` for those.
    baseline: str | None
    #: The session cookie's name; ``None`` for a bare application.
    cookie: str | None
    #: How it is set up, for the report.
    options: str
    build: Callable[[Resources], Built]
    #: Servers it needs: "redis", "postgres".
    needs: tuple[str, ...] = ()
    #: Sessions live in the process's memory (under gunicorn they are made
    #: before the workers fork, so that every worker has them).
    process_local: bool = False

    @property
    def label(self) -> str:
        return self.peer if self.store == "—" else f"{self.peer} · {self.store}"


# The views.


def wsgi_app(
    get_session: Callable[[WSGIEnvironment], Any] | None,
    save: Callable[[Any], None] | None = None,
) -> WSGIApplication:
    """The plain WSGI application: the four views, using the session that
    ``get_session`` finds in the environ (``None``: the bare application,
    which never looks). ``save`` is called after a change, for a peer that
    needs to be told."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if get_session is not None:
            scenario = environ["PATH_INFO"]
            if scenario == "/read":
                environ[SEEN] = get_session(environ).get("views")
            elif scenario != "/unused":
                session = get_session(environ)
                views = session.get("views", 0) + 1
                session["views"] = views
                if save is not None:
                    save(session)
                environ[SEEN] = views
        # A new list each time, as an application makes it: middlewares add to it.
        start_response("200 OK", list(HEADERS))
        return [BODY]

    return app


def flask_app(configure: Callable[[Flask], None] | None) -> Flask:
    """A Flask application with one view serving the four scenarios through
    ``flask.session``; with ``configure=None``, the bare Flask application
    whose view never touches the session."""
    from flask import Flask, request, session

    app = Flask("bench")
    app.config["PERMANENT_SESSION_LIFETIME"] = LIFETIME
    use_session = configure is not None
    if configure is not None:
        configure(app)

    @app.route("/<scenario>")
    def view(scenario: str) -> bytes:
        if use_session:
            if scenario == "read":
                request.environ[SEEN] = session.get("views")
            elif scenario != "unused":
                views = session.get("views", 0) + 1
                session["views"] = views
                request.environ[SEEN] = views
        return BODY

    return app


# The configurations.


def _bare_wsgi(resources: Resources) -> Built:
    return Built(wsgi_app(None), None)


def _bare_flask(resources: Resources) -> Built:
    return Built(flask_app(None), None)


def _wsgisession(store: Any) -> WSGIApplication:
    from wsgisession import SessionMiddleware

    return SessionMiddleware(
        wsgi_app(lambda environ: environ["wsgisession"]),
        secret=SECRET,
        store=store,
        resave=False,
        save_uninitialized=False,
        cookie={"max_age": LIFETIME},
    )


def _wsgisession_memory(resources: Resources) -> Built:
    from wsgisession import MemoryStore

    counter = OpCounter("store calls", classify_calls)
    store = counting_subclass(MemoryStore, counter, store_methods(MemoryStore))()
    return Built(_wsgisession(store), counter)


def _wsgisession_sqlite(resources: Resources) -> Built:
    from wsgisession import SQLiteStore

    counter = OpCounter("SQL statements", classify_sql)
    with contextlib.ExitStack() as stack:
        stack.enter_context(traced_sqlite(resources.sqlite_path, counter))
        store = SQLiteStore(resources.sqlite_path)
        stack.callback(store.close)
        # Stop tracing and close the store when the configuration is released.
        return Built(_wsgisession(store), counter, stack.pop_all().close)


def _wsgisession_redis(resources: Resources) -> Built:
    from wsgisession import RedisStore

    counter = OpCounter("Redis commands", classify_redis)
    client = counting_redis_client(resources.redis_url, counter)
    store = RedisStore(client, prefix=resources.redis_prefix + "wsgisession:")
    return Built(_wsgisession(store), counter, client.close)


def _wsgisession_postgres(resources: Resources) -> Built:
    from wsgisession import PostgresStore

    counter = OpCounter("SQL statements", classify_sql)
    pool = counting_postgres_pool(resources.postgres_dsn, counter)
    try:
        store = PostgresStore(pool=pool, table=resources.postgres_table)
    except BaseException:
        pool.close()
        raise
    return Built(_wsgisession(store), counter, pool.close)


def _beaker(namespace_class: type[Any], **options: Any) -> WSGIApplication:
    from beaker.middleware import SessionMiddleware

    return SessionMiddleware(
        wsgi_app(lambda environ: environ["beaker.session"], lambda session: session.save()),
        secret=SECRET,
        timeout=LIFETIME,
        httponly=True,
        namespace_class=namespace_class,
        **options,
    )


def _beaker_memory(resources: Resources) -> Built:
    from beaker.container import MemoryNamespaceManager

    counter = OpCounter("namespace calls", classify_calls)
    methods = ("__getitem__", "__setitem__", "__contains__", "has_key", "__delitem__")
    namespace_class = counting_subclass(MemoryNamespaceManager, counter, methods)
    return Built(_beaker(namespace_class, type="memory"), counter)


def _beaker_redis(resources: Resources) -> Built:
    from beaker.ext.redisnm import RedisNamespaceManager

    counter = OpCounter("Redis commands", classify_redis)
    client = counting_redis_client(resources.redis_url, counter)
    prefix = resources.redis_prefix + "beaker:"

    class PrefixedRedisNamespace(RedisNamespaceManager):  # type: ignore[misc]
        # Beaker's keys are beaker_cache:<session id>:session; this run's are
        # prefixed, so that they can be found and removed afterwards.
        def _format_key(self, key: Any) -> str:
            return prefix + str(super()._format_key(key))

    return Built(
        _beaker(PrefixedRedisNamespace, type="ext:redis", url=client), counter, client.close
    )


def _flask_session_cachelib(resources: Resources) -> Built:
    from cachelib import SimpleCache
    from flask_session import Session

    counter = OpCounter("cache calls", classify_calls)
    methods = ("get", "set", "add", "delete", "has", "get_many", "set_many", "delete_many")
    cache = counting_subclass(SimpleCache, counter, methods)(threshold=100_000)

    def configure(app: Flask) -> None:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache)
        Session(app)

    return Built(flask_app(configure), counter)


def _flask_session_redis(resources: Resources) -> Built:
    from flask_session import Session

    counter = OpCounter("Redis commands", classify_redis)
    client = counting_redis_client(resources.redis_url, counter)

    def configure(app: Flask) -> None:
        app.config.update(
            SESSION_TYPE="redis",
            SESSION_REDIS=client,
            SESSION_KEY_PREFIX=resources.redis_prefix + "flask-session:",
        )
        Session(app)

    return Built(flask_app(configure), counter, client.close)


def _flask_cookie(resources: Resources) -> Built:
    def configure(app: Flask) -> None:
        app.secret_key = SECRET

    return Built(flask_app(configure), None)


_WSGISESSION = "SessionMiddleware(resave=False, save_uninitialized=False, cookie={'max_age': 3600})"

CONFIGS: tuple[Config, ...] = (
    Config("bare-wsgi", "bare WSGI app", "—", None, None, "a plain WSGI function", _bare_wsgi),
    Config(
        "bare-flask",
        "bare Flask app",
        "—",
        None,
        None,
        "Flask, one view, no secret key, so that Flask opens no session",
        _bare_flask,
    ),
    Config(
        "wsgisession-memory",
        "wsgisession",
        "MemoryStore",
        "bare-wsgi",
        "connect.sid",
        f"{_WSGISESSION}, MemoryStore()",
        _wsgisession_memory,
        process_local=True,
    ),
    Config(
        "wsgisession-sqlite",
        "wsgisession",
        "SQLiteStore",
        "bare-wsgi",
        "connect.sid",
        f"{_WSGISESSION}, SQLiteStore(<file in a temporary directory>)",
        _wsgisession_sqlite,
    ),
    Config(
        "wsgisession-redis",
        "wsgisession",
        "RedisStore",
        "bare-wsgi",
        "connect.sid",
        f"{_WSGISESSION}, RedisStore(redis.Redis(...), prefix=<run's prefix>)",
        _wsgisession_redis,
        needs=("redis",),
    ),
    Config(
        "wsgisession-postgres",
        "wsgisession",
        "PostgresStore",
        "bare-wsgi",
        "connect.sid",
        f"{_WSGISESSION}, PostgresStore(pool=<1-10 connections, autocommit>, table=<run's>)",
        _wsgisession_postgres,
        needs=("postgres",),
    ),
    Config(
        "beaker-memory",
        "Beaker",
        "memory",
        "bare-wsgi",
        "beaker.session.id",
        "beaker SessionMiddleware(type='memory', secret=..., timeout=3600, httponly=True);"
        " the view calls session.save() after a change",
        _beaker_memory,
        process_local=True,
    ),
    Config(
        "beaker-redis",
        "Beaker",
        "Redis",
        "bare-wsgi",
        "beaker.session.id",
        "beaker SessionMiddleware(type='ext:redis', url=redis.Redis(...), secret=...,"
        " timeout=3600, httponly=True), keys prefixed with the run's prefix;"
        " the view calls session.save() after a change",
        _beaker_redis,
        needs=("redis",),
    ),
    Config(
        "flask-session-cachelib",
        "Flask-Session",
        "cachelib memory",
        "bare-flask",
        "session",
        "SESSION_TYPE='cachelib', SESSION_CACHELIB=SimpleCache(threshold=100_000),"
        " other settings default (permanent, refreshed on every request)",
        _flask_session_cachelib,
        process_local=True,
    ),
    Config(
        "flask-session-redis",
        "Flask-Session",
        "Redis",
        "bare-flask",
        "session",
        "SESSION_TYPE='redis', SESSION_REDIS=redis.Redis(...), SESSION_KEY_PREFIX=<run's>,"
        " other settings default (permanent, refreshed on every request)",
        _flask_session_redis,
        needs=("redis",),
    ),
    Config(
        "flask-cookie",
        "Flask",
        "signed cookie",
        "bare-flask",
        "session",
        "Flask's SecureCookieSessionInterface (the default), SECRET_KEY set",
        _flask_cookie,
    ),
)

BY_KEY = {config.key: config for config in CONFIGS}


def serve() -> WSGIApplication:
    """gunicorn's entry point: the configuration ``BENCH_CONFIG`` names, with
    the run's resources from the environment. With ``BENCH_SEED_FILE`` set
    (gunicorn ``--preload``: this runs once, before the workers fork) it also
    makes the returning visitors' sessions and writes their cookies there."""
    config = BY_KEY[os.environ["BENCH_CONFIG"]]
    built = config.build(Resources.from_env())
    seed_file = os.environ.get("BENCH_SEED_FILE")
    if seed_file:
        cookies = prepare(built.app, config.cookie)
        Path(seed_file).write_text(json.dumps(cookies))
    return built.app
