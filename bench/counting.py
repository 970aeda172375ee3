"""Counting what each configuration asks of its store.

One :class:`OpCounter` per configuration counts the operations its store
backend receives from this process, by name (``GET``, ``SELECT``, ``get``),
and sorts each name into a category (read, write, expire, other) for the
targets. The wrappers here sit where the operations leave the process:

- Redis: a ``redis.Connection`` subclass counts every command it sends (a
  pipeline's commands one by one, as ``INFO commandstats`` would) and every
  network round trip;
- PostgreSQL: a cursor class counts every statement executed;
- SQLite: ``sqlite3``'s trace callback counts every statement;
- in-process stores (wsgisession's MemoryStore, Beaker's memory namespace,
  cachelib's SimpleCache): subclasses count their method calls.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

Classifier = Callable[[str], str]

CATEGORIES = ("read", "write", "expire", "other")


class OpCounter:
    """Counts the operations one configuration sends to its store."""

    def __init__(self, unit: str, classify: Classifier) -> None:
        #: What is counted, for the report ("Redis commands", "SQL statements").
        self.unit = unit
        self.classify = classify
        self.ops: collections.Counter[str] = collections.Counter()
        #: Network round trips, where they differ from operations (Redis pipelines).
        self.trips = 0

    def hit(self, op: str, count: int = 1) -> None:
        self.ops[op] += count

    def snapshot(self) -> tuple[dict[str, int], int]:
        return dict(self.ops), self.trips

    @staticmethod
    def delta(
        before: tuple[dict[str, int], int], after: tuple[dict[str, int], int]
    ) -> tuple[dict[str, int], int]:
        ops = {op: n - before[0].get(op, 0) for op, n in after[0].items()}
        return {op: n for op, n in ops.items() if n}, after[1] - before[1]


# Categories.

_REDIS_READ = {"GET", "GETEX", "MGET", "HGET", "HGETALL", "HMGET", "EXISTS", "GETDEL"}
_REDIS_WRITE = {"SET", "SETEX", "PSETEX", "SETNX", "MSET", "HSET", "HMSET", "GETSET"}
_REDIS_EXPIRE = {"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"}
# RedisStore's scripts (see redis_command): a read that also extends the
# expiry, and an expiry update.
_REDIS_READ.add("EVALSHA get_and_refresh")
_REDIS_EXPIRE.add("EVALSHA refresh")


def classify_redis(command: str) -> str:
    if command in _REDIS_READ:
        return "read"
    if command in _REDIS_WRITE:
        return "write"
    if command in _REDIS_EXPIRE:
        return "expire"
    return "other"


def classify_sql(verb: str) -> str:
    # The stores touch with an UPDATE of the expiry; prunes are DELETEs.
    return {
        "SELECT": "read",
        "INSERT": "write",
        "REPLACE": "write",
        "UPSERT": "write",
        "UPDATE": "expire",
        "UPDATE…RETURNING": "read",
    }.get(verb, "other")


def classify_calls(method: str) -> str:
    # Method names of wsgisession's Store, Beaker's namespaces and cachelib.
    return {
        "get": "read",
        "__getitem__": "read",
        "has": "read",
        "has_key": "read",
        "__contains__": "read",
        "set": "write",
        "add": "write",
        "__setitem__": "write",
        "touch": "expire",
        "refresh": "expire",
        "get_and_refresh": "read",
    }.get(method, "other")


# In-process stores: count method calls with a subclass.


def counting_subclass(base: type[Any], counter: OpCounter, methods: tuple[str, ...]) -> type[Any]:
    """A subclass of ``base`` whose ``methods`` count each call in ``counter``."""

    def wrap(name: str) -> Callable[..., Any]:
        inherited = getattr(base, name)

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            counter.hit(name)
            return inherited(self, *args, **kwargs)

        method.__name__ = name
        return method

    namespace = {name: wrap(name) for name in methods}
    return type(f"Counting{base.__name__}", (base,), namespace)


def store_methods(store_class: type[Any]) -> tuple[str, ...]:
    """The public methods of a wsgisession store: its operations (whatever
    the store grows, every public method but the ``errors`` helper and
    ``close`` counts)."""
    return tuple(
        name
        for name in dir(store_class)
        if not name.startswith("_")
        and name not in ("errors", "close")
        and callable(getattr(store_class, name))
    )


# Redis.


def counting_redis_connection(counter: OpCounter) -> type[Any]:
    """A ``redis.Connection`` class that counts, in ``counter``, each command
    it sends and each round trip."""
    import redis

    class CountingConnection(redis.Connection):  # type: ignore[misc]
        def send_command(self, *args: Any, **kwargs: Any) -> None:
            counter.hit(redis_command(args))
            counter.trips += 1
            super().send_command(*args, **kwargs)

        def pack_commands(self, commands: Any) -> Any:
            # A pipeline: its commands go out together, in one round trip.
            commands = list(commands)
            for command in commands:
                counter.hit(redis_command(command))
            counter.trips += 1
            return super().pack_commands(commands)

    return CountingConnection


def redis_command(args: Any) -> str:
    """The name a command is counted under: ``EVALSHA`` of one of
    RedisStore's scripts is named after the store method that runs it."""
    name = str(args[0]).upper()
    if name == "EVALSHA" and len(args) > 1:
        script = _redis_scripts().get(str(args[1]))
        if script is not None:
            return f"EVALSHA {script}"
    return name


@functools.cache
def _redis_scripts() -> dict[str, str]:
    from wsgisession.stores import redis as redis_store

    sources = {"refresh": redis_store._REFRESH, "get_and_refresh": redis_store._GET_AND_REFRESH}
    return {hashlib.sha1(source.encode()).hexdigest(): name for name, source in sources.items()}


def counting_redis_client(url: str, counter: OpCounter) -> Any:
    """A ``redis.Redis`` client for ``url`` whose traffic ``counter`` counts."""
    import redis

    pool = redis.ConnectionPool.from_url(url, connection_class=counting_redis_connection(counter))
    return redis.Redis(connection_pool=pool)


# PostgreSQL.


def counting_cursor_class(counter: OpCounter) -> type[Any]:
    """A psycopg cursor class that counts, in ``counter``, each statement it
    executes, by its first keyword."""
    import psycopg

    verbs: dict[int, tuple[object, str]] = {}

    def verb(query: Any, cursor: Any) -> str:
        # Composed queries are rendered once each; the store builds them once.
        if isinstance(query, (str, bytes)):
            text = query.decode() if isinstance(query, bytes) else query
            return _first_word(text)
        cached = verbs.get(id(query))
        if cached is not None and cached[0] is query:
            return cached[1]
        word = _first_word(query.as_string(cursor))
        if len(verbs) < 1000:
            verbs[id(query)] = (query, word)
        return word

    class CountingCursor(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            counter.hit(verb(query, self))
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            params_seq = list(params_seq)
            counter.hit(verb(query, self), len(params_seq))
            return super().executemany(query, params_seq, **kwargs)

    return CountingCursor


def counting_postgres_pool(conninfo: str, counter: OpCounter) -> Any:
    """A ``psycopg_pool.ConnectionPool`` as PostgresStore makes its own
    (autocommit, 1 to 10 connections), whose statements ``counter`` counts."""
    from psycopg_pool import ConnectionPool

    cursor_class = counting_cursor_class(counter)

    def configure(connection: Any) -> None:
        connection.cursor_factory = cursor_class

    return ConnectionPool(
        conninfo,
        min_size=1,
        max_size=10,
        timeout=5.0,
        kwargs={"autocommit": True},
        configure=configure,
        open=True,
        name="wsgisession-bench",
    )


# SQLite.


@contextlib.contextmanager
def traced_sqlite(path: str | os.PathLike[str], counter: OpCounter) -> Iterator[None]:
    """While active, every connection that ``sqlite3.connect`` opens to
    ``path`` counts its statements in ``counter`` (with sqlite3's trace
    callback). Connections opened while it was active stay counted."""
    target = os.fspath(path)
    connect = sqlite3.connect

    def trace(statement: str) -> None:
        counter.hit(_first_word(statement))

    def counting_connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = connect(database, *args, **kwargs)
        if os.fspath(database) == target:
            connection.set_trace_callback(trace)
        return connection

    sqlite3.connect = counting_connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = connect


def _first_word(statement: str) -> str:
    # The statement's verb; an UPDATE ... RETURNING (the stores'
    # get_and_refresh) is a read that also moves the expiry.
    words = statement.split(None, 1)
    verb = words[0].upper().rstrip(";") if words else "?"
    if verb == "UPDATE" and " RETURNING " in statement.upper():
        return "UPDATE…RETURNING"
    return verb
