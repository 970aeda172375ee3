"""RedisStore beyond the store contract (issue 3, SPEC §7): connect-redis's
layout and TTLs, touch as PEXPIRE, SCAN never KEYS, prefixes with glob
characters, sessions shared with connect-redis in both directions, the client
options, a server that is down, and Sentinel and Cluster for real.

The basic operations, expiry, bulk operations and threads are covered for
every store by tests/test_store_contract.py. Tests on the shared server at
``REDIS_URL`` use key prefixes of their own and delete what they wrote; tests
that count commands, or need Sentinel or a Cluster, start private
``redis-server`` processes on free ports under a temporary directory.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel
from werkzeug.test import Client
from werkzeug.wrappers import Response

from wsgisession import RedisStore, SessionMiddleware, StoreError
from wsgisession.record import Record, record_expiry
from wsgisession.testing import make_record

from .conftest import REDIS_URL, SECRET, expected_cookie_value, sid_from, unique_name

# How far a key's PTTL may be from the expected one: the time between the
# write and the PTTL read, on a busy machine.
PTTL_TOLERANCE_MS = 1500
JS_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def escape_glob(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def compact(record: Record) -> bytes:
    """``record`` as JavaScript's ``JSON.stringify`` writes it, in UTF-8."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()


def js_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expected_pttl(record: Record) -> float:
    expiry = record_expiry(record)
    assert expiry is not None
    return (expiry - time.time()) * 1000


def delete_prefixed(client: Any, prefix: str) -> None:
    keys = list(client.scan_iter(match=escape_glob(prefix) + "*", count=1000))
    if keys:
        client.delete(*keys)


def counter_app(environ: dict[str, Any], start_response: Any) -> Any:
    session = environ["wsgisession"]
    if environ["PATH_INFO"] == "/logout":
        session.destroy()
        return Response("bye")(environ, start_response)
    session["views"] = session.get("views", 0) + 1
    return Response(str(session["views"]))(environ, start_response)


def middleware(app: Any, store: RedisStore, **options: Any) -> SessionMiddleware:
    options.setdefault("resave", False)
    options.setdefault("save_uninitialized", False)
    return SessionMiddleware(app, secret=SECRET, store=store, **options)


def cookie_header(sid: str) -> dict[str, str]:
    return {"Cookie": f"connect.sid={expected_cookie_value(sid)}"}


# --- the shared server --------------------------------------------------------------


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test's own, to look at what the store wrote."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(raw: redis.Redis) -> Iterator[str]:
    prefix = unique_name("wsgisession-test:") + ":"
    yield prefix
    delete_prefixed(raw, prefix)


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(url=redis_url, prefix=prefix)
    yield store
    store.close()


class TestLayout:
    def test_key_is_prefix_and_sid_value_is_the_json_record(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        record = make_record(600, user={"name": "Zoë"}, cart=[1, 2], note='say "hi"')
        store.set("sid-1", record)
        key = prefix + "sid-1"
        assert list(raw.scan_iter(match=escape_glob(prefix) + "*")) == [key.encode()]
        assert raw.type(key) == b"string"
        assert raw.get(key) == compact(record)

    def test_default_prefix_is_sess(self, redis_url: str, raw: redis.Redis) -> None:
        sid = unique_name("wsgisession-default-prefix-")
        store = RedisStore(url=redis_url)
        try:
            assert store.prefix == "sess:"
            record = make_record(60, views=1)
            store.set(sid, record)
            assert raw.get("sess:" + sid) == compact(record)
            assert store.get(sid) == record
        finally:
            raw.delete("sess:" + sid)
            store.close()

    @pytest.mark.parametrize("expires_in", [5, 120, 7 * 86400])
    def test_pttl_follows_the_cookie_expiry(
        self, store: RedisStore, raw: redis.Redis, prefix: str, expires_in: float
    ) -> None:
        record = make_record(expires_in)
        # The expiry, not originalMaxAge, decides (as connect-redis does).
        record["cookie"]["originalMaxAge"] = 3_600_000
        store.set("sid-1", record)
        pttl = raw.pttl(prefix + "sid-1")
        assert pttl == pytest.approx(expected_pttl(record), abs=PTTL_TOLERANCE_MS)

    @pytest.mark.parametrize(("ttl", "expected_ms"), [(None, 86_400_000), (1234, 1_234_000)])
    def test_pttl_is_the_store_ttl_when_the_cookie_has_no_expiry(
        self,
        redis_url: str,
        raw: redis.Redis,
        prefix: str,
        ttl: float | None,
        expected_ms: int,
    ) -> None:
        store = (
            RedisStore(url=redis_url, prefix=prefix)
            if ttl is None
            else RedisStore(url=redis_url, prefix=prefix, ttl=ttl)
        )
        try:
            store.set("sid-1", make_record(None, views=1))
            pttl = raw.pttl(prefix + "sid-1")
        finally:
            store.close()
        assert expected_ms - PTTL_TOLERANCE_MS <= pttl <= expected_ms

    @pytest.mark.parametrize(
        "expired",
        [
            pytest.param(make_record(-10, views=2), id="expires-past"),
            pytest.param(
                {"cookie": {"originalMaxAge": 1, "expires": "not a date"}, "views": 2},
                id="expires-unreadable",
            ),
        ],
    )
    def test_a_record_already_expired_is_deleted_not_written(
        self, store: RedisStore, raw: redis.Redis, prefix: str, expired: Record
    ) -> None:
        store.set("sid-1", make_record(600, views=1))
        assert raw.exists(prefix + "sid-1") == 1
        store.set("sid-1", expired)
        assert raw.exists(prefix + "sid-1") == 0
        store.set("sid-2", expired)
        assert raw.exists(prefix + "sid-2") == 0


class TestTouch:
    def test_touch_is_a_pexpire(self, store: RedisStore, raw: redis.Redis, prefix: str) -> None:
        key = prefix + "sid-1"
        store.set("sid-1", make_record(60, views=3))
        before = raw.get(key)
        assert raw.pttl(key) <= 60_000
        later = make_record(3600, views=999)
        later["cookie"]["sameSite"] = "lax"
        store.touch("sid-1", later)
        # The value is untouched, byte for byte; only the TTL moved.
        assert raw.get(key) == before
        assert raw.pttl(key) == pytest.approx(expected_pttl(later), abs=PTTL_TOLERANCE_MS)

    def test_touch_without_cookie_expiry_sets_the_store_ttl(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        store = RedisStore(url=redis_url, prefix=prefix, ttl=900)
        key = prefix + "sid-1"
        try:
            store.set("sid-1", make_record(60, views=3))
            before = raw.get(key)
            store.touch("sid-1", make_record(None, views=3))
        finally:
            store.close()
        assert raw.get(key) == before
        assert 900_000 - PTTL_TOLERANCE_MS <= raw.pttl(key) <= 900_000

    def test_touch_with_an_expired_cookie_removes_the_key(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        store.set("sid-1", make_record(60, views=3))
        store.touch("sid-1", make_record(-5, views=3))
        assert raw.exists(prefix + "sid-1") == 0


def _with_lifetime(seconds: float | None, expires_in: float = 60, **data: Any) -> Record:
    record = make_record(expires_in, **data)
    record["cookie"]["originalMaxAge"] = None if seconds is None else round(seconds * 1000)
    return record


class TestRefresh:
    def test_refresh_sets_the_pttl_to_the_stored_lifetime_and_keeps_the_value(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        key = prefix + "sid-1"
        store.set("sid-1", _with_lifetime(7200, views=3))
        before = raw.get(key)
        assert raw.pttl(key) <= 60_000
        assert store.refresh("sid-1") is True
        assert raw.get(key) == before
        assert raw.pttl(key) == pytest.approx(7_200_000, abs=PTTL_TOLERANCE_MS)

    def test_refresh_without_a_lifetime_sets_the_store_ttl(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        store = RedisStore(url=redis_url, prefix=prefix, ttl=900)
        try:
            store.set("sid-1", _with_lifetime(None, views=3))
            assert store.refresh("sid-1") is True
        finally:
            store.close()
        assert 900_000 - PTTL_TOLERANCE_MS <= raw.pttl(prefix + "sid-1") <= 900_000

    def test_refresh_of_a_value_that_is_not_json_sets_the_store_ttl(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        raw.set(prefix + "sid-1", b"not json", px=5000)
        assert store.refresh("sid-1") is True
        assert raw.pttl(prefix + "sid-1") > 5000

    def test_refresh_with_a_zero_lifetime_removes_the_key(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        store.set("sid-1", _with_lifetime(0, views=3))
        assert store.refresh("sid-1") is True
        assert raw.exists(prefix + "sid-1") == 0

    def test_refresh_is_one_evalsha_after_the_script_is_loaded(
        self, store: RedisStore, raw: redis.Redis
    ) -> None:
        store.set("sid-1", _with_lifetime(7200))
        store.refresh("sid-1")
        raw.config_resetstat()
        assert store.refresh("sid-1") is True
        stats = raw.info("commandstats")
        assert stats["cmdstat_evalsha"]["calls"] == 1
        assert "cmdstat_eval" not in stats

    def test_get_and_refresh_is_one_evalsha_returning_the_value(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        key = prefix + "sid-1"
        record = _with_lifetime(7200, views=3)
        store.set("sid-1", record)
        before = raw.get(key)
        store.get_and_refresh("sid-1")
        raw.config_resetstat()
        assert store.get_and_refresh("sid-1") == record
        stats = raw.info("commandstats")
        assert stats["cmdstat_evalsha"]["calls"] == 1
        assert "cmdstat_set" not in stats
        assert raw.get(key) == before
        assert raw.pttl(key) == pytest.approx(7_200_000, abs=PTTL_TOLERANCE_MS)
        assert store.get_and_refresh("missing") is None

    def test_without_scripts_refresh_and_get_and_refresh_are_get_and_pexpire(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        store = RedisStore(url=redis_url, prefix=prefix, scripts=False)
        try:
            record = _with_lifetime(7200, views=3)
            store.set("sid-1", record)
            raw.config_resetstat()
            assert store.refresh("sid-1") is True
            assert store.get_and_refresh("sid-1") == record
            stats = raw.info("commandstats")
        finally:
            store.close()
        assert stats["cmdstat_get"]["calls"] == 2
        assert stats["cmdstat_pexpire"]["calls"] == 2
        assert "cmdstat_evalsha" not in stats
        assert raw.pttl(prefix + "sid-1") == pytest.approx(7_200_000, abs=PTTL_TOLERANCE_MS)

    def test_a_subclass_that_changes_get_is_read_with_it(self, redis_url: str, prefix: str) -> None:
        class Upper(RedisStore):
            def get(self, sid: str) -> Record | None:
                record = super().get(sid)
                if record is not None:
                    record["user"] = record["user"].upper()
                return record

        store = Upper(url=redis_url, prefix=prefix)

        def read(environ: dict[str, Any], start_response: Any) -> Any:
            return Response(environ["wsgisession"]["user"])(environ, start_response)

        try:
            store.set("sid-1", _with_lifetime(7200, user="ada"))
            client = Client(middleware(read, store), use_cookies=False)
            assert client.get("/", headers=cookie_header("sid-1")).text == "ADA"
        finally:
            store.close()

    def test_refresh_survives_a_script_flush(self, store: RedisStore, raw: redis.Redis) -> None:
        store.set("sid-1", _with_lifetime(7200))
        assert store.refresh("sid-1") is True
        raw.script_flush()
        # redis-py loads the script again when the server answers NOSCRIPT.
        assert store.refresh("sid-1") is True

    def test_a_session_written_by_node_refreshes_by_its_lifetime(
        self, store: RedisStore, raw: redis.Redis, prefix: str
    ) -> None:
        # express-session writes originalMaxAge as an integer and cookie first.
        value = (
            '{"cookie":{"originalMaxAge":2592000000,"expires":"2030-01-01T00:00:00.000Z",'
            '"httpOnly":true,"path":"/"},"user":"ada"}'
        )
        raw.set(prefix + "sid-1", value, px=10_000)
        assert store.refresh("sid-1") is True
        assert raw.pttl(prefix + "sid-1") == pytest.approx(2_592_000_000, abs=PTTL_TOLERANCE_MS)
        assert raw.get(prefix + "sid-1") == value.encode()


class TestPrefixes:
    @pytest.mark.parametrize(
        ("glob", "trap"),
        [
            # The prefix, and a key its unescaped pattern would also match.
            ("a*b?[c]:", "aXYbZc:trap"),
            ("x\\y*:", "xy-more:trap"),
            ("[^z]-:", "q-:trap"),
            ("*", "anything"),
        ],
    )
    def test_clear_all_and_length_keep_to_their_own_prefix(
        self, redis_url: str, raw: redis.Redis, glob: str, trap: str
    ) -> None:
        base = unique_name("wsgisession-glob-")
        prefix, trap_key = base + glob, base + trap
        raw.set(trap_key, b'{"cookie":{}}', ex=600)
        store = RedisStore(url=redis_url, prefix=prefix)
        try:
            # The trap is one: the raw pattern matches it.
            assert trap_key.encode() in set(raw.scan_iter(match=prefix + "*", count=1000))
            store.set("mine-1", make_record(views=1))
            store.set("mine-2", make_record(views=2))
            assert set(store.all()) == {"mine-1", "mine-2"}
            assert store.length() == 2
            store.clear()
            assert store.length() == 0
            assert raw.exists(prefix + "mine-1") == 0
            assert raw.exists(trap_key) == 1
        finally:
            raw.delete(trap_key, prefix + "mine-1", prefix + "mine-2")
            store.close()

    def test_clear_leaves_other_prefixes_alone(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        ours = RedisStore(url=redis_url, prefix=prefix + "a:")
        theirs = RedisStore(url=redis_url, prefix=prefix + "ab:")
        try:
            ours.set("sid-1", make_record())
            theirs.set("sid-1", make_record())
            ours.clear()
            assert theirs.get("sid-1") is not None
            assert raw.exists(prefix + "ab:sid-1") == 1
        finally:
            ours.close()
            theirs.close()


class TestDecodedResponses:
    @pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
    def test_bulk_operations_give_str_ids(self, redis_url: str, prefix: str, decode: bool) -> None:
        client = redis.Redis.from_url(redis_url, decode_responses=decode)
        store = RedisStore(client, prefix=prefix + "ünï:")
        sids = ["plain", "ü-ñ-中", "with space", "sess:*"]
        try:
            records = {sid: make_record(views=n) for n, sid in enumerate(sids)}
            for sid, record in records.items():
                store.set(sid, record)
            everything = store.all()
            assert everything == records
            assert all(type(sid) is str for sid in everything)
            assert store.length() == 4
            value = client.get(prefix + "ünï:plain")
            assert isinstance(value, str if decode else bytes)
            store.clear()
            assert store.all() == {}
        finally:
            store.close()
            client.close()


class TestConnectRedisCompatibility:
    """connect-redis writes ``SET prefix+sid JSON.stringify(sess) EX seconds``."""

    @pytest.mark.parametrize(
        "extra_cookie",
        [
            pytest.param("", id="defaults"),
            pytest.param(
                ',"secure":false,"domain":"example.com","sameSite":"strict"', id="options"
            ),
        ],
    )
    def test_a_session_written_by_connect_redis_loads(
        self, redis_url: str, raw: redis.Redis, prefix: str, extra_cookie: str
    ) -> None:
        sid = "RVrKMXHeD8-wKhG2Ndw9gRgvHtpyWqgn"
        expires = js_date(datetime.now(timezone.utc) + timedelta(seconds=600))
        value = (
            '{"cookie":{"originalMaxAge":600000,"expires":"' + expires + '",'
            '"httpOnly":true,"path":"/"' + extra_cookie + "},"
            '"views":41,"user":{"name":"Zoë"}}'
        )
        raw.set(prefix + sid, value.encode(), ex=600)

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            session = environ["wsgisession"]
            seen = f"{session.get('views')}|{session['user']['name']}|{session.id}"
            session["views"] += 1
            return Response(seen)(environ, start_response)

        store = RedisStore(url=redis_url, prefix=prefix)
        try:
            client = Client(middleware(app, store), use_cookies=False)
            assert client.get("/", headers=cookie_header(sid)).text == f"41|Zoë|{sid}"
        finally:
            store.close()
        saved = json.loads(raw.get(prefix + sid) or b"null")
        assert list(saved) == ["cookie", "views", "user"]
        assert saved["views"] == 42
        assert saved["user"] == {"name": "Zoë"}
        # As express-session does, the request touched the cookie: a fresh
        # expiry originalMaxAge from now, and the key's TTL with it.
        assert saved["cookie"]["originalMaxAge"] == 600_000
        assert expected_pttl(saved) == pytest.approx(600_000, abs=PTTL_TOLERANCE_MS)
        assert raw.pttl(prefix + sid) == pytest.approx(expected_pttl(saved), abs=PTTL_TOLERANCE_MS)

    def test_a_browser_session_written_by_connect_redis_loads(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        sid = "bRoWsErSeSsIoN-0123456789abcdefg"
        value = '{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},'
        value += '"views":7}'
        raw.set(prefix + sid, value.encode(), ex=86400)
        store = RedisStore(url=redis_url, prefix=prefix)
        try:
            client = Client(middleware(counter_app, store), use_cookies=False)
            assert client.get("/", headers=cookie_header(sid)).text == "8"
        finally:
            store.close()

    @pytest.mark.parametrize(
        ("cookie", "expected_cookie_keys"),
        [
            ({"max_age": 600}, ["originalMaxAge", "expires", "httpOnly", "path"]),
            (None, ["originalMaxAge", "expires", "httpOnly", "path"]),
            (
                {"max_age": 600, "secure": True, "domain": "example.com", "samesite": "lax"},
                ["originalMaxAge", "expires", "secure", "httpOnly", "domain", "path", "sameSite"],
            ),
        ],
    )
    def test_a_session_written_by_the_middleware_is_in_connect_redis_shape(
        self,
        redis_url: str,
        raw: redis.Redis,
        prefix: str,
        cookie: dict[str, Any] | None,
        expected_cookie_keys: list[str],
    ) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            session = environ["wsgisession"]
            session["views"] = 1
            session["user"] = "Zoë"
            return Response("ok")(environ, start_response)

        store = RedisStore(url=redis_url, prefix=prefix)
        try:
            client = Client(middleware(app, store, cookie=cookie), use_cookies=False)
            response = client.get("/", base_url="https://localhost/")
        finally:
            store.close()
        sid = sid_from(response)
        assert sid is not None
        key = prefix + sid
        assert raw.type(key) == b"string"
        value = raw.get(key)
        assert value is not None
        saved = json.loads(value)
        # Exactly what JSON.stringify(sess) gives: compact, UTF-8, in order.
        assert value == compact(saved)
        assert "Zoë".encode() in value
        assert list(saved) == ["cookie", "views", "user"]
        assert list(saved["cookie"]) == expected_cookie_keys
        assert saved["cookie"]["httpOnly"] is True
        assert saved["cookie"]["path"] == "/"
        if cookie is None:
            assert saved["cookie"]["originalMaxAge"] is None
            assert saved["cookie"]["expires"] is None
            assert 86_400_000 - PTTL_TOLERANCE_MS <= raw.pttl(key) <= 86_400_000
        else:
            assert saved["cookie"]["originalMaxAge"] == 600_000
            assert JS_DATE.fullmatch(saved["cookie"]["expires"])
            assert expected_pttl(saved) == pytest.approx(600_000, abs=PTTL_TOLERANCE_MS)
            assert raw.pttl(key) == pytest.approx(expected_pttl(saved), abs=PTTL_TOLERANCE_MS)


class TestClientOptions:
    def test_a_client_is_used_as_given(self, raw: redis.Redis, prefix: str) -> None:
        store = RedisStore(raw, prefix=prefix)
        assert store.client is raw
        store.set("sid-1", make_record(views=1))
        assert raw.exists(prefix + "sid-1") == 1

    def test_a_url_is_connected_to(self, redis_url: str, raw: redis.Redis, prefix: str) -> None:
        store = RedisStore(url=redis_url, prefix=prefix)
        try:
            store.set("sid-1", make_record(views=1))
        finally:
            store.close()
        assert raw.exists(prefix + "sid-1") == 1

    def test_neither_connects_to_the_default_server(
        self, redis_url: str, raw: redis.Redis, prefix: str
    ) -> None:
        store = RedisStore(prefix=prefix)
        try:
            kwargs = store.client.connection_pool.connection_kwargs
            assert kwargs.get("host", "localhost") in ("localhost", "127.0.0.1")
            assert (kwargs.get("port", 6379), kwargs.get("db", 0)) == (6379, 0)
            if REDIS_URL == "redis://127.0.0.1:6379/0":
                store.set("sid-1", make_record(views=1))
                assert raw.exists(prefix + "sid-1") == 1
        finally:
            store.close()

    def test_client_and_url_together_is_a_type_error(
        self, raw: redis.Redis, redis_url: str
    ) -> None:
        with pytest.raises(TypeError, match="not both"):
            RedisStore(raw, url=redis_url)

    @pytest.mark.parametrize(
        ("options", "error", "name"),
        [
            ({"prefix": b"sess:"}, TypeError, "prefix"),
            ({"prefix": None}, TypeError, "prefix"),
            ({"ttl": 0}, ValueError, "ttl"),
            ({"ttl": -5}, ValueError, "ttl"),
            ({"ttl": float("nan")}, ValueError, "ttl"),
            ({"ttl": float("inf")}, ValueError, "ttl"),
            ({"ttl": "60"}, TypeError, "ttl"),
            ({"ttl": True}, TypeError, "ttl"),
            ({"scan_count": 0}, ValueError, "scan_count"),
            ({"scan_count": 1.5}, ValueError, "scan_count"),
            ({"scan_count": True}, ValueError, "scan_count"),
            ({"scripts": 1}, TypeError, "scripts"),
            ({"scripts": None}, TypeError, "scripts"),
        ],
    )
    def test_invalid_options(
        self, raw: redis.Redis, options: dict[str, Any], error: type[Exception], name: str
    ) -> None:
        with pytest.raises(error, match=f"'{name}'"):
            RedisStore(raw, **options)


DOWN_URL = "redis://127.0.0.1:1"


class TestServerDown:
    @pytest.mark.parametrize(
        ("operation", "call"),
        [
            ("get", lambda store: store.get("sid-1")),
            ("set", lambda store: store.set("sid-1", make_record())),
            ("set", lambda store: store.set("sid-1", make_record(-5))),
            ("destroy", lambda store: store.destroy("sid-1")),
            ("touch", lambda store: store.touch("sid-1", make_record())),
            ("refresh", lambda store: store.refresh("sid-1")),
            ("get_and_refresh", lambda store: store.get_and_refresh("sid-1")),
            ("all", lambda store: store.all()),
            ("length", lambda store: store.length()),
            ("clear", lambda store: store.clear()),
        ],
    )
    def test_operations_raise_store_error(
        self, operation: str, call: Callable[[RedisStore], Any]
    ) -> None:
        store = RedisStore(url=DOWN_URL)
        try:
            with pytest.raises(StoreError) as caught:
                call(store)
        finally:
            store.close()
        assert (caught.value.store, caught.value.operation) == ("RedisStore", operation)
        assert str(caught.value).startswith(f"RedisStore.{operation}() failed")
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)

    @pytest.mark.parametrize(
        ("headers", "operation"),
        [
            pytest.param(
                cookie_header("AoBibqb2nKTEY9cULj5ei8RHRTBSbOHE"), "get_and_refresh", id="load"
            ),
            pytest.param({}, "set", id="save"),
        ],
    )
    def test_a_request_raises_store_error(self, headers: dict[str, str], operation: str) -> None:
        store = RedisStore(url=DOWN_URL)
        client = Client(middleware(counter_app, store, save_uninitialized=True), use_cookies=False)
        try:
            with pytest.raises(StoreError) as caught:
                client.get("/", headers=headers)
        finally:
            store.close()
        assert (caught.value.store, caught.value.operation) == ("RedisStore", operation)
        assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)


# --- private servers: command counts, Sentinel, Cluster -----------------------------

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")
NOT_INSTALLED = (
    "{} is not installed: these tests start their own Redis, Sentinel and Cluster"
    " processes (Debian package redis-server, which also has redis-cli)"
)
START_TIMEOUT = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(what: str, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
    """Poll ``ready`` until it is true, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (redis.RedisError, OSError) as error:
            last = error
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what} (last error: {last!r})")


def _ping(port: int) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


def _up_or_exited(process: subprocess.Popen[bytes], port: int) -> bool:
    return process.poll() is not None or _ping(port)


class RedisProcesses:
    """``redis-server`` processes of the test session's own, stopped at its end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(self, name: str, config: Callable[[int], str], sentinel: bool = False) -> int:
        """Start a server whose configuration ``config(port)`` gives, on a free
        port (tried again should another process take the port first)."""
        directory = self.root / name
        directory.mkdir()
        problems = []
        for attempt in range(3):
            port = _free_port()
            conf = directory / f"redis-{attempt}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\n"
                f"dir {directory}\nlogfile {directory}/redis-{attempt}.log\n" + config(port)
            )
            output = (directory / f"stderr-{attempt}.txt").open("wb")
            command = [str(REDIS_SERVER), str(conf)] + (["--sentinel"] if sentinel else [])
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
            self.processes.append((process, output))
            try:
                _wait_for(
                    f"{name} on port {port}",
                    functools.partial(_up_or_exited, process, port),
                    timeout=10,
                )
            except RuntimeError as error:
                problems.append(str(error))
                continue
            if process.poll() is None:
                return port
            log = directory / f"redis-{attempt}.log"
            problems.append(log.read_text() if log.exists() else f"exit {process.returncode}")
        raise RuntimeError(f"could not start {name}: {problems}")

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, output in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            output.close()
        self.processes.clear()


PLAIN = 'save ""\nappendonly no\n'


@pytest.fixture(scope="session")
def redis_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcesses]:
    if REDIS_SERVER is None:
        pytest.skip(NOT_INSTALLED.format("redis-server"))
    processes = RedisProcesses(tmp_path_factory.mktemp("redis-servers"))
    yield processes
    processes.stop_all()


@pytest.fixture(scope="session")
def private_port(redis_processes: RedisProcesses) -> int:
    """A standalone server nobody else talks to, so its command counts are ours."""
    return redis_processes.start("private", lambda port: PLAIN)


@pytest.fixture
def private(private_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=private_port)
    yield client
    client.close()


SENTINEL_SERVICE = "wsgisession-master"


@pytest.fixture(scope="session")
def sentinel_ports(redis_processes: RedisProcesses) -> tuple[int, int]:
    """A master and a Sentinel monitoring it: the Sentinel's port and the master's."""
    master = redis_processes.start("sentinel-master", lambda port: PLAIN)
    port = redis_processes.start(
        "sentinel",
        lambda port: (
            f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master} 1\n"
            f"sentinel down-after-milliseconds {SENTINEL_SERVICE} 10000\n"
        ),
        sentinel=True,
    )
    sentinel = Sentinel([("127.0.0.1", port)], socket_timeout=2)
    try:
        _wait_for(
            "the Sentinel to know the master",
            lambda: sentinel.discover_master(SENTINEL_SERVICE) == ("127.0.0.1", master),
        )
    finally:
        for client in sentinel.sentinels:
            client.close()
    return port, master


@pytest.fixture(scope="session")
def cluster_ports(redis_processes: RedisProcesses) -> list[int]:
    """A cluster of three masters and no replicas; their ports."""
    if REDIS_CLI is None:
        pytest.skip(NOT_INSTALLED.format("redis-cli"))

    def node_config(port: int) -> str:
        return PLAIN + (
            f"cluster-enabled yes\ncluster-port {_free_port()}\n"
            f"cluster-config-file nodes-{port}.conf\ncluster-node-timeout 5000\n"
        )

    ports = [redis_processes.start(f"cluster-{n}", node_config) for n in range(3)]
    created = subprocess.run(
        [str(REDIS_CLI), "--cluster", "create"]
        + [f"127.0.0.1:{port}" for port in ports]
        + ["--cluster-replicas", "0", "--cluster-yes"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr

    def cluster_ok() -> bool:
        for port in ports:
            client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
            try:
                state = client.cluster("INFO")
            finally:
                client.close()
            if state.get("cluster_state") != "ok":
                return False
        return True

    _wait_for("the cluster to be ok", cluster_ok)
    return ports


@pytest.fixture
def sentinel_store(sentinel_ports: tuple[int, int]) -> Iterator[RedisStore]:
    sentinel = Sentinel([("127.0.0.1", sentinel_ports[0])], socket_timeout=5)
    master = sentinel.master_for(SENTINEL_SERVICE, socket_timeout=5)
    store = RedisStore(master, prefix=unique_name("sentinel:") + ":")
    yield store
    store.clear()
    master.close()
    for client in sentinel.sentinels:
        client.close()


@pytest.fixture
def cluster_store(cluster_ports: list[int]) -> Iterator[RedisStore]:
    client = RedisCluster(host="127.0.0.1", port=cluster_ports[0], socket_timeout=5)
    store = RedisStore(client, prefix=unique_name("cluster:") + ":")
    yield store
    store.clear()
    client.close()


def _command_calls(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("keys", "scan")}


class TestPrivateServer:
    def test_all_length_and_clear_use_scan_never_keys(
        self, private_port: int, private: redis.Redis
    ) -> None:
        prefix = unique_name("scan:") + ":"
        store = RedisStore(url=f"redis://127.0.0.1:{private_port}/0", prefix=prefix, scan_count=10)
        private.set("someone-else:1", b"{}")
        try:
            for n in range(35):
                store.set(f"sid-{n}", make_record(n=n))
            counts = [_command_calls(private)]
            assert len(store.all()) == 35
            counts.append(_command_calls(private))
            assert store.length() == 35
            counts.append(_command_calls(private))
            store.clear()
            counts.append(_command_calls(private))
            assert store.length() == 0
        finally:
            store.close()
            private.delete("someone-else:1")
        assert [count["keys"] for count in counts] == [counts[0]["keys"]] * 4
        for before, after in itertools.pairwise(counts):
            # Every bulk operation walked the keyspace with SCAN.
            assert after["scan"] > before["scan"]

    def test_the_database_of_the_url_is_used(self, private_port: int, private: redis.Redis) -> None:
        store = RedisStore(url=f"redis://127.0.0.1:{private_port}/5", prefix="db:")
        db5 = redis.Redis(port=private_port, db=5)
        try:
            store.set("sid-1", make_record(views=1))
            assert db5.exists("db:sid-1") == 1
            assert private.exists("db:sid-1") == 0
        finally:
            db5.delete("db:sid-1")
            db5.close()
            store.close()


def _round_trip(store: RedisStore) -> None:
    """set / get / touch / destroy / all / length / clear against one store."""
    records = {f"sid-{n}": make_record(600, n=n) for n in range(30)}
    for sid, record in records.items():
        store.set(sid, record)
    for sid, record in records.items():
        assert store.get(sid) == record
    assert store.all() == records
    assert store.length() == 30
    later = make_record(7200, n=0)
    store.touch("sid-0", later)
    pttl = store.client.pttl(store.prefix + "sid-0")
    assert pttl == pytest.approx(expected_pttl(later), abs=PTTL_TOLERANCE_MS)
    assert store.get("sid-0") == records["sid-0"]
    store.destroy("sid-1")
    assert store.get("sid-1") is None
    store.set("sid-2", make_record(-1, n=2))
    assert store.get("sid-2") is None
    assert store.length() == 28
    assert set(store.all()) == set(records) - {"sid-1", "sid-2"}
    store.clear()
    assert store.length() == 0
    assert store.all() == {}
    assert store.get("sid-3") is None


def _refresh_round_trip(store: RedisStore) -> None:
    # Keys on every node: the script runs where its one key lives.
    for n in range(12):
        store.set(f"sid-{n}", _with_lifetime(7200, n=n))
    assert [store.refresh(f"sid-{n}") for n in range(12)] == [True] * 12
    assert store.refresh("missing") is False
    loaded = [store.get_and_refresh(f"sid-{n}") for n in range(12)]
    assert [record["n"] for record in loaded if record is not None] == list(range(12))
    assert store.get_and_refresh("missing") is None
    for n in range(12):
        pttl = store.client.pttl(store.prefix + f"sid-{n}")
        assert pttl == pytest.approx(7_200_000, abs=PTTL_TOLERANCE_MS)


def _middleware_round_trip(store: RedisStore) -> None:
    client = Client(middleware(counter_app, store, cookie={"max_age": 600}))
    first = client.get("/")
    sid = sid_from(first)
    assert sid is not None
    assert [first.text] + [client.get("/").text for _ in range(2)] == ["1", "2", "3"]
    loaded = store.get(sid)
    assert loaded is not None
    assert loaded["views"] == 3
    assert json.loads(store.client.get(store.prefix + sid)) == loaded
    assert client.get("/logout").text == "bye"
    assert store.get(sid) is None
    assert client.get("/").text == "1"


@pytest.mark.slow
class TestSentinel:
    def test_the_store_talks_to_the_master(
        self, sentinel_store: RedisStore, sentinel_ports: tuple[int, int]
    ) -> None:
        # The client found the master through the Sentinel, not by being told.
        assert sentinel_store.client.info("server")["tcp_port"] == sentinel_ports[1]
        assert sentinel_store.client.info("replication")["role"] == "master"

    def test_round_trip(self, sentinel_store: RedisStore) -> None:
        _round_trip(sentinel_store)

    def test_middleware_round_trip(self, sentinel_store: RedisStore) -> None:
        _middleware_round_trip(sentinel_store)

    def test_refresh(self, sentinel_store: RedisStore) -> None:
        _refresh_round_trip(sentinel_store)


@pytest.mark.slow
class TestCluster:
    def test_sessions_spread_over_the_nodes(self, cluster_store: RedisStore) -> None:
        client = cluster_store.client
        for n in range(30):
            cluster_store.set(f"sid-{n}", make_record(n=n))
        nodes = {
            client.get_node_from_key(cluster_store.prefix + f"sid-{n}").name for n in range(30)
        }
        # So all() and clear() really gather keys from several nodes.
        assert len(nodes) == 3
        assert cluster_store.length() == 30
        assert len(cluster_store.all()) == 30
        cluster_store.clear()
        assert cluster_store.length() == 0

    def test_round_trip(self, cluster_store: RedisStore) -> None:
        _round_trip(cluster_store)

    def test_middleware_round_trip(self, cluster_store: RedisStore) -> None:
        _middleware_round_trip(cluster_store)

    def test_refresh(self, cluster_store: RedisStore) -> None:
        _refresh_round_trip(cluster_store)

    def test_clear_keeps_to_its_prefix_across_nodes(self, cluster_store: RedisStore) -> None:
        client = cluster_store.client
        foreign = [f"foreign-{unique_name('')}-{n}" for n in range(10)]
        try:
            for key in foreign:
                client.set(key, b"{}", ex=600)
            for n in range(10):
                cluster_store.set(f"sid-{n}", make_record(n=n))
            cluster_store.clear()
            assert cluster_store.length() == 0
            assert [client.exists(key) for key in foreign] == [1] * 10
        finally:
            client.delete(*foreign)
