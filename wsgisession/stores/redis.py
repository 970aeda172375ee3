"""A session store in Redis, laid out as connect-redis lays it out."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from typing import Any

try:
    import redis
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("RedisStore needs redis-py: pip install 'wsgisession[redis]'") from error

from ..record import Record, dumps, expires_at
from .base import DEFAULT_TTL, Store, positive_int, positive_seconds

# Characters SCAN's MATCH treats as a pattern.
_GLOB = re.compile(r"([*?\[\]\\])")

# Extending a key's expiry, in Redis: the stored cookie's originalMaxAge
# (milliseconds) is the time to live a touch would give (connect-redis takes
# it from the cookie's expires, which a touch sets that far ahead); ARGV[1],
# the default TTL, when the record has none.
_EXTEND = """
local ttl = tonumber(ARGV[1])
local ok, record = pcall(cjson.decode, value)
if ok and type(record) == 'table' and type(record.cookie) == 'table'
    and type(record.cookie.originalMaxAge) == 'number' then
  ttl = math.ceil(record.cookie.originalMaxAge)
end
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('DEL', KEYS[1])
end
"""
_GET = "local value = redis.call('GET', KEYS[1])\n"
#: refresh(): whether the key was there.
_REFRESH = _GET + "if not value then return 0 end\n" + _EXTEND + "return 1\n"
#: get_and_refresh(): the value as it was read, or nil.
_GET_AND_REFRESH = _GET + "if not value then return false end\n" + _EXTEND + "return value\n"


class RedisStore(Store):
    """Sessions in Redis, for many hosts.

    The layout is connect-redis's, so Node and Python applications share
    sessions: the key is ``prefix + sid``, the value the JSON record. A write
    sets the key's time to live from the cookie's ``expires`` (``ttl`` seconds
    when it has none), and a record whose expiry has passed is deleted instead
    of written. :meth:`touch` is one ``PEXPIRE``; :meth:`refresh` and
    :meth:`get_and_refresh` are one ``EVALSHA`` each, of a script that reads
    the stored cookie's lifetime in Redis and sets it with ``PEXPIRE``, so a
    request that reads its session costs one round trip. :meth:`all`,
    :meth:`length` and :meth:`clear` walk the keys with ``SCAN``, never
    ``KEYS``.

    Expiry is set in milliseconds (``SET ... PX``, ``PEXPIRE``) rather than
    connect-redis's whole seconds rounded up, so a session is never returned
    after its cookie's expiry.

    The scripts decode the stored record with Redis's ``cjson`` to find its
    lifetime, on Redis's main thread: microseconds for sessions of a few
    kilobytes. A refresh leaves the stored JSON's ``expires`` as it was (as
    connect-redis's touch does); the key's time to live is the expiry.

    :param client: a ready client: a ``redis.Redis``, the master of a
        ``redis.sentinel.Sentinel`` (``sentinel.master_for(name)``) or a
        ``redis.cluster.RedisCluster``. Responses may be bytes or decoded.
    :param url: a ``redis://`` URL to connect to instead, as
        ``redis.Redis.from_url`` takes it. With neither, ``redis.Redis()``
        (127.0.0.1:6379).
    :param prefix: prepended to every session id to make its key.
    :param ttl: seconds a record without a cookie expiry lives.
    :param scan_count: the ``COUNT`` hint of each ``SCAN`` step.
    :param scripts: ``False`` for a server or ACL user without Lua scripting
        (``EVALSHA``): :meth:`refresh` and :meth:`get_and_refresh` then read
        the record and ``PEXPIRE`` it, two round trips instead of one.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        url: str | None = None,
        prefix: str = "sess:",
        ttl: float = DEFAULT_TTL,
        scan_count: int = 100,
        scripts: bool = True,
    ) -> None:
        if client is not None and url is not None:
            raise TypeError("RedisStore takes a 'client' or a 'url', not both")
        if not isinstance(prefix, str):
            raise TypeError(f"RedisStore option 'prefix' must be a str, not {prefix!r}")
        ttl = positive_seconds("RedisStore", "ttl", ttl)
        positive_int("RedisStore", "scan_count", scan_count)
        if not isinstance(scripts, bool):
            raise TypeError(f"RedisStore option 'scripts' must be True or False, not {scripts!r}")
        self.scripts = scripts
        self._owns_client = client is None
        if client is None:
            client = redis.Redis.from_url(url) if url is not None else redis.Redis()
        self.client = client
        self.prefix = prefix
        self.ttl = float(ttl)
        self.scan_count = scan_count
        self._pattern = _GLOB.sub(r"\\\1", prefix) + "*"
        # A cluster cannot MGET keys of different slots in one command.
        self._mget = getattr(client, "mget_nonatomic", None) or client.mget
        # EVALSHA, loading the script on the first call a server has not seen.
        self._refresh = client.register_script(_REFRESH)
        self._get_and_refresh = client.register_script(_GET_AND_REFRESH)

    def _key(self, sid: str) -> str:
        return self.prefix + sid

    def _milliseconds_left(self, record: Record) -> int:
        now = time.time()
        return math.ceil((expires_at(record, ttl=self.ttl, now=now) - now) * 1000)

    def get(self, sid: str) -> Record | None:
        with self.errors("get"):
            value = self.client.get(self._key(sid))
            if value is None:
                return None
            record: Record = json.loads(value)
            return record

    def set(self, sid: str, record: Record) -> None:
        encoded = dumps(record)
        left = self._milliseconds_left(record)
        with self.errors("set"):
            if left > 0:
                self.client.set(self._key(sid), encoded, px=left)
            else:
                self.client.delete(self._key(sid))

    def destroy(self, sid: str) -> None:
        with self.errors("destroy"):
            self.client.delete(self._key(sid))

    def touch(self, sid: str, record: Record) -> None:
        left = self._milliseconds_left(record)
        with self.errors("touch"):
            if left > 0:
                self.client.pexpire(self._key(sid), left)
            else:
                self.client.delete(self._key(sid))

    def refresh(self, sid: str) -> bool:
        if not self.scripts:
            return super().refresh(sid)
        with self.errors("refresh"):
            found = self._refresh(keys=[self._key(sid)], args=[math.ceil(self.ttl * 1000)])
            return bool(found)

    def get_and_refresh(self, sid: str) -> Record | None:
        if not self.scripts:
            return super().get_and_refresh(sid)
        with self.errors("get_and_refresh"):
            value = self._get_and_refresh(keys=[self._key(sid)], args=[math.ceil(self.ttl * 1000)])
            if value is None:
                return None
            record: Record = json.loads(value)
            return record

    def _keys(self) -> Iterator[Any]:
        return iter(self.client.scan_iter(match=self._pattern, count=self.scan_count))

    def _batches(self) -> Iterator[list[Any]]:
        batch: list[Any] = []
        for key in self._keys():
            batch.append(key)
            if len(batch) >= self.scan_count:
                yield batch
                batch = []
        if batch:
            yield batch

    def _sid(self, key: bytes | str) -> str:
        text = key.decode() if isinstance(key, bytes) else key
        return text[len(self.prefix) :]

    def all(self) -> dict[str, Record]:
        with self.errors("all"):
            records: dict[str, Record] = {}
            for keys in self._batches():
                for key, value in zip(keys, self._mget(keys), strict=True):
                    # A key may expire between SCAN and MGET.
                    if value is not None:
                        records[self._sid(key)] = json.loads(value)
            return records

    def length(self) -> int:
        with self.errors("length"):
            return sum(1 for _ in self._keys())

    def clear(self) -> None:
        with self.errors("clear"):
            for keys in self._batches():
                self.client.delete(*keys)

    def close(self) -> None:
        """Close the connection pool, if this store created the client."""
        if self._owns_client:
            self.client.close()
