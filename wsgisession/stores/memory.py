"""An in-process store for tests and single-process servers."""

from __future__ import annotations

import heapq
import json
import threading
import time
from datetime import datetime, timezone
from typing import NamedTuple

from ..record import COOKIE_KEY, Record, dumps, expires_at, format_js_date, record_lifetime
from .base import DEFAULT_TTL, Store, positive_int, positive_seconds


class _Entry(NamedTuple):
    """One stored record, its cookie apart from the rest so that an expiry
    update never re-encodes the data."""

    expires_at: float
    #: The cookie's JSON, or None for a record without one.
    cookie: str | None
    #: The JSON of the rest of the record.
    data: str
    #: The cookie's originalMaxAge in seconds: how far a refresh moves the expiry.
    lifetime: float | None
    #: Whether ``cookie`` still holds the expires of before a refresh: it is
    #: then written from ``expires_at`` when the record is read.
    stale: bool = False


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
        # The heap holds (expires at, sid) and may hold stale pairs for
        # records since rewritten; pruning skips them.
        self._entries: dict[str, _Entry] = {}
        self._expiries: list[tuple[float, str]] = []

    def _write(self, sid: str, entry: _Entry, now: float) -> None:
        # Called with the lock held.
        self._prune(now)
        if entry.expires_at <= now:
            self._entries.pop(sid, None)
            return
        if self.max_entries is not None and sid not in self._entries:
            self._evict(self.max_entries - 1)
        self._entries[sid] = entry
        heapq.heappush(self._expiries, (entry.expires_at, sid))

    def _prune(self, now: float) -> None:
        # Called with the lock held.
        expiries, entries = self._expiries, self._entries
        while expiries and expiries[0][0] <= now:
            _, sid = heapq.heappop(expiries)
            entry = entries.get(sid)
            if entry is not None and entry.expires_at <= now:
                del entries[sid]
        if len(expiries) > 2 * len(entries) + 64:
            self._expiries = [(entry.expires_at, sid) for sid, entry in entries.items()]
            heapq.heapify(self._expiries)

    def _evict(self, keep: int) -> None:
        # Called with the lock held: drop the records closest to expiry until
        # at most ``keep`` remain. Stale heap pairs are skipped.
        expiries, entries = self._expiries, self._entries
        while len(entries) > keep and expiries:
            expires_at, sid = heapq.heappop(expiries)
            entry = entries.get(sid)
            if entry is not None and entry.expires_at == expires_at:
                del entries[sid]

    def get(self, sid: str) -> Record | None:
        now = time.time()
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return None
            if entry.expires_at <= now:
                del self._entries[sid]
                return None
        return _decode(entry)

    def set(self, sid: str, record: Record) -> None:
        cookie, data = _encode(record)
        now = time.time()
        entry = _Entry(
            expires_at(record, ttl=self.ttl, now=now), cookie, data, record_lifetime(record)
        )
        with self._lock:
            self._write(sid, entry, now)

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._entries.pop(sid, None)

    def touch(self, sid: str, record: Record) -> None:
        now = time.time()
        entry = self._live(sid, now)
        if entry is None:
            return
        cookie = record.get(COOKIE_KEY)
        moved = _Entry(
            expires_at(record, ttl=self.ttl, now=now),
            entry.cookie if cookie is None else dumps(cookie),
            entry.data,
            record_lifetime(record),
        )
        self._replace(sid, entry, moved, now)

    def refresh(self, sid: str) -> bool:
        now = time.time()
        entry = self._live(sid, now)
        if entry is None:
            return False
        self._replace(sid, entry, self._refreshed(entry, now), now)
        return True

    def get_and_refresh(self, sid: str) -> Record | None:
        now = time.time()
        entry = self._live(sid, now)
        if entry is None:
            return None
        self._replace(sid, entry, self._refreshed(entry, now), now)
        # As get() would have returned it, before the refresh.
        return _decode(entry)

    def _live(self, sid: str, now: float) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(sid)
        return None if entry is None or entry.expires_at <= now else entry

    def _refreshed(self, entry: _Entry, now: float) -> _Entry:
        # As a touch would leave it: expiring its lifetime from now (the TTL
        # without one), its cookie JSON's expires to be written when read.
        cookie, data, lifetime = entry.cookie, entry.data, entry.lifetime
        if lifetime is None:
            return _Entry(now + self.ttl, cookie, data, None, entry.stale)
        return _Entry(now + lifetime, cookie, data, lifetime, cookie is not None)

    def _replace(self, sid: str, entry: _Entry, moved: _Entry, now: float) -> None:
        with self._lock:
            # A request that wrote the session meanwhile holds newer data.
            if self._entries.get(sid) is entry:
                self._write(sid, moved, now)

    def all(self) -> dict[str, Record]:
        now = time.time()
        with self._lock:
            self._prune(now)
            entries = list(self._entries.items())
        return {sid: _decode(entry) for sid, entry in entries if entry.expires_at > now}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._expiries.clear()

    def length(self) -> int:
        now = time.time()
        with self._lock:
            self._prune(now)
            return sum(1 for entry in self._entries.values() if entry.expires_at > now)


def _encode(record: Record) -> tuple[str | None, str]:
    if COOKIE_KEY not in record:
        return None, dumps(record)
    rest = {key: value for key, value in record.items() if key != COOKIE_KEY}
    return dumps(record[COOKIE_KEY]), dumps(rest)


def _decode(entry: _Entry) -> Record:
    cookie, data = entry.cookie, entry.data
    if cookie is None:
        text = data
    elif data == "{}":
        text = '{"cookie":' + cookie + "}"
    else:
        text = '{"cookie":' + cookie + "," + data[1:]
    record: Record = json.loads(text)
    if entry.stale:
        expires = datetime.fromtimestamp(entry.expires_at, timezone.utc)
        record[COOKIE_KEY]["expires"] = format_js_date(expires)
    return record
