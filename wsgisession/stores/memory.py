"""An in-process store for tests and single-process servers."""

from __future__ import annotations

import heapq
import json
import threading
import time

from ..record import COOKIE_KEY, Record, dumps, expires_at, restart_expiry
from .base import DEFAULT_TTL, Store, positive_int, positive_seconds


class MemoryStore(Store):
    """Sessions in a dict of this process, as JSON strings.

    Like express-session's MemoryStore it keeps each record as a JSON string,
    so requests never share mutable objects, and it behaves as the real
    backends do. Unlike it, it cannot grow without bound: every record
    expires (at its cookie's ``expires``, or ``ttl`` seconds after it was last
    written when it has none), expired records are pruned as new ones are
    written, in O(log n) per write, and it holds at most ``max_entries``
    records. It is thread-safe.

    Its sessions are not shared between processes: with several workers use
    :class:`SQLiteStore` or :class:`RedisStore`.

    :param ttl: seconds a record without a cookie expiry lives.
    :param max_entries: the most records it holds; when full, a write first
        evicts the records closest to expiry, so a flood of new visitors
        cannot exhaust memory. ``None`` for no limit.
    """

    def __init__(self, *, ttl: float = DEFAULT_TTL, max_entries: int | None = 100_000) -> None:
        self.max_entries = (
            None if max_entries is None else positive_int("MemoryStore", "max_entries", max_entries)
        )
        self.ttl = positive_seconds("MemoryStore", "ttl", ttl)
        self._lock = threading.Lock()
        # sid -> (expires at, cookie JSON or None, JSON of the rest), so that
        # touch rewrites only the cookie. The heap holds (expires at, sid) and
        # may hold stale pairs for records since rewritten; pruning skips them.
        self._entries: dict[str, tuple[float, str | None, str]] = {}
        self._expiries: list[tuple[float, str]] = []

    def _write(
        self, sid: str, expires_at: float, cookie: str | None, data: str, now: float
    ) -> None:
        # Called with the lock held.
        self._prune(now)
        if expires_at <= now:
            self._entries.pop(sid, None)
            return
        if self.max_entries is not None and sid not in self._entries:
            self._evict(self.max_entries - 1)
        self._entries[sid] = (expires_at, cookie, data)
        heapq.heappush(self._expiries, (expires_at, sid))

    def _prune(self, now: float) -> None:
        # Called with the lock held.
        expiries, entries = self._expiries, self._entries
        while expiries and expiries[0][0] <= now:
            _, sid = heapq.heappop(expiries)
            entry = entries.get(sid)
            if entry is not None and entry[0] <= now:
                del entries[sid]
        if len(expiries) > 2 * len(entries) + 64:
            self._expiries = [(entry[0], sid) for sid, entry in entries.items()]
            heapq.heapify(self._expiries)

    def _evict(self, keep: int) -> None:
        # Called with the lock held: drop the records closest to expiry until
        # at most ``keep`` remain. Stale heap pairs are skipped.
        expiries, entries = self._expiries, self._entries
        while len(entries) > keep and expiries:
            expires_at, sid = heapq.heappop(expiries)
            entry = entries.get(sid)
            if entry is not None and entry[0] == expires_at:
                del entries[sid]

    def get(self, sid: str) -> Record | None:
        now = time.time()
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[sid]
                return None
        return _decode(entry)

    def set(self, sid: str, record: Record) -> None:
        cookie, data = _encode(record)
        now = time.time()
        expiry = expires_at(record, ttl=self.ttl, now=now)
        with self._lock:
            self._write(sid, expiry, cookie, data, now)

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._entries.pop(sid, None)

    def touch(self, sid: str, record: Record) -> None:
        now = time.time()
        with self._lock:
            entry = self._entries.get(sid)
        if entry is not None and entry[0] > now:
            self._rewrite_cookie(sid, entry, record, now)

    def refresh(self, sid: str) -> bool:
        return self._refresh(sid, decode=False) is not None

    def get_and_refresh(self, sid: str) -> Record | None:
        return self._refresh(sid, decode=True)

    def _refresh(self, sid: str, *, decode: bool) -> Record | None:
        # The record (only its cookie unless ``decode``) with its expiry
        # moved as a touch would move it; None when missing or expired.
        now = time.time()
        with self._lock:
            entry = self._entries.get(sid)
        if entry is None or entry[0] <= now:
            return None
        if decode:
            record = _decode(entry)
            cookie = record.get(COOKIE_KEY)
        else:
            record = {}
            cookie = None if entry[1] is None else json.loads(entry[1])
        max_age = cookie.get("originalMaxAge") if isinstance(cookie, dict) else None
        if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
            # No lifetime of its own (a browser-session cookie): the TTL.
            self._replace(sid, entry, now + self.ttl, entry[1], now)
            return record
        cookie = restart_expiry({COOKIE_KEY: cookie}, now=now)[COOKIE_KEY]
        self._replace(sid, entry, now + max_age / 1000, dumps(cookie), now)
        if decode:
            record[COOKIE_KEY] = cookie
        return record

    def _rewrite_cookie(
        self, sid: str, entry: tuple[float, str | None, str], record: Record, now: float
    ) -> None:
        # Give the entry read as ``entry`` the expiry and cookie of ``record``.
        cookie = dumps(record[COOKIE_KEY]) if COOKIE_KEY in record else entry[1]
        self._replace(sid, entry, expires_at(record, ttl=self.ttl, now=now), cookie, now)

    def _replace(
        self,
        sid: str,
        entry: tuple[float, str | None, str],
        expiry: float,
        cookie: str | None,
        now: float,
    ) -> None:
        with self._lock:
            # A request that wrote the session meanwhile holds newer data.
            if self._entries.get(sid) is entry:
                self._write(sid, expiry, cookie, entry[2], now)

    def all(self) -> dict[str, Record]:
        now = time.time()
        with self._lock:
            self._prune(now)
            entries = list(self._entries.items())
        return {sid: _decode(entry) for sid, entry in entries if entry[0] > now}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._expiries.clear()

    def length(self) -> int:
        now = time.time()
        with self._lock:
            self._prune(now)
            return sum(1 for entry in self._entries.values() if entry[0] > now)


def _encode(record: Record) -> tuple[str | None, str]:
    if COOKIE_KEY not in record:
        return None, dumps(record)
    rest = {key: value for key, value in record.items() if key != COOKIE_KEY}
    return dumps(record[COOKIE_KEY]), dumps(rest)


def _decode(entry: tuple[float, str | None, str]) -> Record:
    _, cookie, data = entry
    if cookie is None:
        text = data
    elif data == "{}":
        text = '{"cookie":' + cookie + "}"
    else:
        text = '{"cookie":' + cookie + "," + data[1:]
    record: Record = json.loads(text)
    return record
