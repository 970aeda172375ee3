"""A session store in an SQLite file, for one host and many processes."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import sqlite3
import threading
import time
from typing import Any

from ..record import COOKIE_KEY, Record, dumps, expires_at
from .base import DEFAULT_TTL, Store, positive_int, positive_seconds

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SQLiteStore(Store):
    """Sessions in an SQLite database file, with nothing beyond the standard
    library.

    The embedded default for one host: every gunicorn worker opening the same
    file sees the others' sessions at once. The database runs in WAL mode (so
    reads never wait for a write) with a busy timeout; each thread of each
    process has its own connection, opened again after a fork. Rows carry
    their expiry as a Unix time in an indexed column; reads ignore expired
    rows, and every ``prune_every`` writes a process deletes up to
    ``prune_batch`` expired rows, so neither the file nor a request's latency
    grows without bound.

    The table is ``(sid TEXT PRIMARY KEY, sess TEXT, expire REAL)``; ``sess``
    is the JSON record. :meth:`touch`, :meth:`refresh` and
    :meth:`get_and_refresh` are one ``UPDATE`` each (with ``RETURNING`` for
    the last, on SQLite 3.35 and later). A touch also writes the cookie it is
    given; a refresh moves ``expire`` alone, leaving the stored cookie's
    ``expires`` as it was (as connect-pg-simple does), so the ``expire``
    column is the expiry.

    :param path: the database file (created if missing), or ``":memory:"``
        for a private in-memory database of one connection (tests).
    :param table: the table name; created if missing.
    :param ttl: seconds a record without a cookie expiry lives.
    :param timeout: seconds a connection waits for a lock before failing.
    :param prune_every: writes between two prunes, per process.
    :param prune_batch: most expired rows one prune deletes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "sessions",
        ttl: float = DEFAULT_TTL,
        timeout: float = 5.0,
        prune_every: int = 100,
        prune_batch: int = 1000,
    ) -> None:
        if not isinstance(table, str) or not _IDENTIFIER.fullmatch(table):
            raise ValueError(f"SQLiteStore option 'table' must be an SQL identifier: {table!r}")
        positive_seconds("SQLiteStore", "ttl", ttl)
        positive_seconds("SQLiteStore", "timeout", timeout)
        positive_int("SQLiteStore", "prune_every", prune_every)
        positive_int("SQLiteStore", "prune_batch", prune_batch)
        self.path = os.fspath(path)
        self.table = table
        self.ttl = float(ttl)
        self.timeout = float(timeout)
        self.prune_every = prune_every
        self.prune_batch = prune_batch
        self._local = threading.local()
        self._inherited: list[sqlite3.Connection] = []
        self._writes = itertools.count(1)
        self._shared: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        t = f'"{table}"'
        self._sql_get = f"SELECT sess FROM {t} WHERE sid = ? AND expire > ?"
        self._sql_set = (
            f"INSERT INTO {t} (sid, sess, expire) VALUES (?, ?, ?)"
            " ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess, expire = excluded.expire"
        )
        self._sql_delete = f"DELETE FROM {t} WHERE sid = ?"
        self._sql_touch = (
            f"UPDATE {t} SET expire = ?, sess = json_set(sess, '$.cookie', json(?))"
            " WHERE sid = ? AND expire > ?"
        )
        # The expiry of a refresh, worked out in SQL from the stored cookie's
        # originalMaxAge (milliseconds) as a touch would; the default TTL
        # without one. The record is left as it is, so RETURNING gives it as
        # get() would.
        max_age = "json_extract(sess, '$.cookie.originalMaxAge')"
        has_max_age = "json_type(sess, '$.cookie.originalMaxAge') IN ('integer', 'real')"
        self._sql_refresh = (
            f"UPDATE {t} SET"
            f" expire = CASE WHEN {has_max_age} THEN (:now_ms + {max_age}) / 1000.0"
            " ELSE :ttl_expire END"
            " WHERE sid = :sid AND expire > :now"
        )
        # RETURNING came in SQLite 3.35; before it, get and touch.
        self._sql_get_and_refresh = (
            self._sql_refresh + " RETURNING sess"
            if sqlite3.sqlite_version_info >= (3, 35)
            else None
        )
        self._sql_prune = (
            f"DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t} WHERE expire <= ? LIMIT ?)"
        )
        with self.errors("open"):
            self._connection()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
        if self.path != ":memory:":
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
        t = f'"{self.table}"'
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {t}"
            " (sid TEXT PRIMARY KEY NOT NULL, sess TEXT NOT NULL, expire REAL NOT NULL)"
        )
        connection.execute(f'CREATE INDEX IF NOT EXISTS "{self.table}_expire" ON {t} (expire)')
        return connection

    def _connection(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            # One in-memory database is one connection; share it, serialised.
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        local = self._local
        pid = os.getpid()
        connection: sqlite3.Connection | None = getattr(local, "connection", None)
        if connection is None or local.pid != pid:
            if connection is not None:
                # Inherited through fork(): it belongs to the parent, and even
                # closing it here could disturb the parent's locks, so it is
                # kept, unused, for the life of this process.
                self._inherited.append(connection)
            connection = self._connect()
            local.connection, local.pid = connection, pid
        return connection

    def _execute(
        self, sql: str, parameters: tuple[object, ...] | dict[str, object]
    ) -> tuple[list[Any], int]:
        # The rows and the row count, fetched before a shared connection is
        # handed to another thread.
        if self.path == ":memory:":
            with self._lock:
                cursor = self._connection().execute(sql, parameters)
                return cursor.fetchall(), cursor.rowcount
        cursor = self._connection().execute(sql, parameters)
        return cursor.fetchall(), cursor.rowcount

    def get(self, sid: str) -> Record | None:
        with self.errors("get"):
            rows, _ = self._execute(self._sql_get, (sid, time.time()))
            if not rows:
                return None
            record: Record = json.loads(rows[0][0])
            return record

    def set(self, sid: str, record: Record) -> None:
        encoded = dumps(record)
        now = time.time()
        expire = expires_at(record, ttl=self.ttl, now=now)
        with self.errors("set"):
            if expire <= now:
                self._execute(self._sql_delete, (sid,))
            else:
                self._execute(self._sql_set, (sid, encoded, expire))
            if next(self._writes) % self.prune_every == 0:
                self.prune(now)

    def destroy(self, sid: str) -> None:
        with self.errors("destroy"):
            self._execute(self._sql_delete, (sid,))

    def touch(self, sid: str, record: Record) -> None:
        now = time.time()
        cookie = dumps(record[COOKIE_KEY])
        with self.errors("touch"):
            self._execute(
                self._sql_touch, (expires_at(record, ttl=self.ttl, now=now), cookie, sid, now)
            )

    def refresh(self, sid: str) -> bool:
        with self.errors("refresh"):
            _, count = self._execute(self._sql_refresh, self._refresh_parameters(sid, time.time()))
            return count > 0

    def _refresh_parameters(self, sid: str, now: float) -> dict[str, object]:
        return {
            "now_ms": math.floor(now * 1000),
            "ttl_expire": now + self.ttl,
            "sid": sid,
            "now": now,
        }

    def get_and_refresh(self, sid: str) -> Record | None:
        if self._sql_get_and_refresh is None:
            return super().get_and_refresh(sid)
        now = time.time()
        with self.errors("get_and_refresh"):
            rows, _ = self._execute(self._sql_get_and_refresh, self._refresh_parameters(sid, now))
            if not rows:
                return None
            record: Record = json.loads(rows[0][0])
            return record

    def prune(self, now: float | None = None) -> int:
        """Delete up to ``prune_batch`` expired rows; return how many went."""
        with self.errors("prune"):
            _, count = self._execute(
                self._sql_prune, (time.time() if now is None else now, self.prune_batch)
            )
            return count

    def all(self) -> dict[str, Record]:
        with self.errors("all"):
            rows, _ = self._execute(
                f'SELECT sid, sess FROM "{self.table}" WHERE expire > ?', (time.time(),)
            )
            return {sid: json.loads(sess) for sid, sess in rows}

    def length(self) -> int:
        with self.errors("length"):
            rows, _ = self._execute(
                f'SELECT COUNT(*) FROM "{self.table}" WHERE expire > ?', (time.time(),)
            )
            return int(rows[0][0])

    def clear(self) -> None:
        with self.errors("clear"):
            self._execute(f'DELETE FROM "{self.table}"', ())

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = (
            self._shared if self.path == ":memory:" else getattr(self._local, "connection", None)
        )
        if connection is not None:
            connection.close()
        self._shared = None
        self._local = threading.local()
