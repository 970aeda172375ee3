"""The store contract as reusable pytest tests, for anyone writing a store.

Subclass :class:`StoreContract` in a test module and say how to make a
store; pytest collects every contract test for it::

    from wsgisession.testing import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self, ttl):
            return MyStore(ttl=ttl, prefix=f"test:{uuid.uuid4()}:")

Each call of :meth:`StoreContract.make_store` must return an empty store
that no other call shares (its own key prefix, table or file), whose records
without a cookie expiry live ``ttl`` seconds. wsgisession's own stores all
pass this suite against their real servers.

Importing this module needs pytest; nothing else in wsgisession does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from .middleware import SessionMiddleware
from .record import Record, format_js_date
from .stores.base import DEFAULT_TTL, Store

__all__ = ["StoreContract", "make_record"]


def make_record(expires_in: float | None = 3600.0, /, **data: Any) -> Record:
    """A record in express-session's shape whose cookie expires ``expires_in``
    seconds from now (``None``: a browser-session cookie), with ``data``."""
    expires = (
        None
        if expires_in is None
        else format_js_date(datetime.now(timezone.utc) + timedelta(seconds=expires_in))
    )
    cookie = {
        "originalMaxAge": None if expires_in is None else round(expires_in * 1000),
        "expires": expires,
        "httpOnly": True,
        "path": "/",
    }
    return {"cookie": cookie, **data}


class StoreContract:
    """The behaviour every :class:`~wsgisession.Store` must have.

    Override :meth:`make_store`. Set ``supports_bulk = False`` for a store
    without :meth:`~Store.all`, :meth:`~Store.clear` and :meth:`~Store.length`.
    """

    #: Whether the store implements all(), clear() and length().
    supports_bulk = True
    #: Seconds the expiry tests wait for; raise it for a backend whose
    #: expiry is coarser (memcached counts whole seconds).
    short_ttl = 1.0

    def _wait_past_short_ttl(self) -> None:
        time.sleep(self.short_ttl * 1.6)

    def make_store(self, ttl: float) -> Store:
        """A new, empty store of its own whose records without expiry live
        ``ttl`` seconds."""
        raise NotImplementedError("subclasses of StoreContract implement make_store(ttl)")

    def close_store(self, store: Store) -> None:
        """Release what :meth:`make_store` made; by default ``clear()`` and
        ``close()`` when the store has them."""
        if self.supports_bulk:
            store.clear()
        close = getattr(store, "close", None)
        if callable(close):
            close()

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store(DEFAULT_TTL)
        yield store
        self.close_store(store)

    @pytest.fixture
    def short_ttl_store(self) -> Iterator[Store]:
        store = self.make_store(self.short_ttl)
        yield store
        self.close_store(store)

    def _bulk(self) -> None:
        if not self.supports_bulk:
            pytest.skip("this store does not implement all(), clear() and length()")

    # get / set / destroy

    def test_get_missing_is_none(self, store: Store) -> None:
        assert store.get("missing") is None

    def test_set_then_get_returns_the_record(self, store: Store) -> None:
        record = make_record(views=3, user={"name": "Zoë", "roles": ["a", "b"]}, n=None)
        store.set("sid-1", record)
        assert store.get("sid-1") == record

    def test_key_order_is_kept(self, store: Store) -> None:
        record = make_record(zebra=1, apple=2, mango=3)
        store.set("sid-1", record)
        loaded = store.get("sid-1")
        assert loaded is not None
        assert list(loaded) == list(record)

    def test_browser_session_record(self, store: Store) -> None:
        record = make_record(None, views=1)
        store.set("sid-1", record)
        assert store.get("sid-1") == record

    def test_get_returns_a_fresh_object(self, store: Store) -> None:
        store.set("sid-1", make_record(cart=["apple"]))
        first = store.get("sid-1")
        assert first is not None
        first["cart"].append("pear")
        first["extra"] = True
        second = store.get("sid-1")
        assert second is not None
        assert second["cart"] == ["apple"]
        assert "extra" not in second

    def test_set_does_not_keep_the_callers_object(self, store: Store) -> None:
        record = make_record(cart=["apple"])
        store.set("sid-1", record)
        record["cart"].append("pear")
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["cart"] == ["apple"]

    def test_set_replaces(self, store: Store) -> None:
        store.set("sid-1", make_record(views=1))
        store.set("sid-1", make_record(views=2))
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["views"] == 2

    def test_sessions_are_separate(self, store: Store) -> None:
        store.set("sid-1", make_record(who="one"))
        store.set("sid-2", make_record(who="two"))
        one, two = store.get("sid-1"), store.get("sid-2")
        assert one is not None
        assert two is not None
        assert (one["who"], two["who"]) == ("one", "two")

    def test_destroy_removes(self, store: Store) -> None:
        store.set("sid-1", make_record())
        store.set("sid-2", make_record())
        store.destroy("sid-1")
        assert store.get("sid-1") is None
        assert store.get("sid-2") is not None

    def test_destroy_missing_is_no_error(self, store: Store) -> None:
        store.destroy("missing")
        assert store.get("missing") is None

    @pytest.mark.parametrize(
        "sid",
        ["a/b", "%", "ü-ñ-中", "sess:*", "[x]?", "with space", "a" * 200, "dots.and-dashes_"],
    )
    def test_unusual_ids(self, store: Store, sid: str) -> None:
        store.set(sid, make_record(sid=sid))
        loaded = store.get(sid)
        assert loaded is not None
        assert loaded["sid"] == sid
        store.destroy(sid)
        assert store.get(sid) is None

    def test_large_record(self, store: Store) -> None:
        record = make_record(blob="x" * 200_000, items=list(range(5000)))
        store.set("sid-1", record)
        assert store.get("sid-1") == record

    def test_unicode_and_numbers(self, store: Store) -> None:
        record = make_record(text='naïve ☃ \u2028 "quoted"', big=2**53, f=0.1, neg=-1, t=True)
        store.set("sid-1", record)
        assert store.get("sid-1") == record

    # expiry

    def test_record_already_expired_is_not_stored(self, store: Store) -> None:
        store.set("sid-1", make_record(-10, views=1))
        assert store.get("sid-1") is None

    def test_expired_write_removes_the_earlier_record(self, store: Store) -> None:
        store.set("sid-1", make_record(views=1))
        store.set("sid-1", make_record(-10, views=2))
        assert store.get("sid-1") is None

    def test_record_is_not_returned_after_its_expiry(self, store: Store) -> None:
        store.set("sid-1", make_record(self.short_ttl, views=1))
        assert store.get("sid-1") is not None
        self._wait_past_short_ttl()
        assert store.get("sid-1") is None

    def test_record_without_expiry_lives_for_the_ttl(self, short_ttl_store: Store) -> None:
        short_ttl_store.set("sid-1", make_record(None, views=1))
        assert short_ttl_store.get("sid-1") is not None
        self._wait_past_short_ttl()
        assert short_ttl_store.get("sid-1") is None

    def test_touch_extends_the_expiry_and_keeps_the_data(self, store: Store) -> None:
        store.set("sid-1", make_record(self.short_ttl, views=1))
        store.touch("sid-1", make_record(3600, views=999))
        self._wait_past_short_ttl()
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["views"] == 1

    def test_touch_without_expiry_uses_the_ttl(self, short_ttl_store: Store) -> None:
        short_ttl_store.set("sid-1", make_record(3600, views=1))
        short_ttl_store.touch("sid-1", make_record(None, views=1))
        assert short_ttl_store.get("sid-1") is not None
        self._wait_past_short_ttl()
        assert short_ttl_store.get("sid-1") is None

    def test_touch_missing_creates_nothing(self, store: Store) -> None:
        store.touch("missing", make_record(3600, views=1))
        assert store.get("missing") is None

    def test_touch_does_not_revive_an_expired_record(self, store: Store) -> None:
        store.set("sid-1", make_record(self.short_ttl, views=1))
        self._wait_past_short_ttl()
        store.touch("sid-1", make_record(3600, views=1))
        assert store.get("sid-1") is None

    # refresh: touch without a read, from the stored cookie's own lifetime

    def _record_with_lifetime(self, lifetime: float, expires_in: float, **data: Any) -> Record:
        # A session whose cookie lives ``lifetime`` seconds from each touch,
        # last touched so that it now expires in ``expires_in`` seconds.
        record = make_record(expires_in, **data)
        record["cookie"]["originalMaxAge"] = round(lifetime * 1000)
        return record

    def test_refresh_missing_is_false_and_creates_nothing(self, store: Store) -> None:
        assert store.refresh("missing") is False
        assert store.get("missing") is None

    def test_refresh_extends_by_the_stored_lifetime_and_keeps_the_data(self, store: Store) -> None:
        store.set("sid-1", self._record_with_lifetime(3600, self.short_ttl, views=1))
        assert store.refresh("sid-1") is True
        self._wait_past_short_ttl()
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["views"] == 1
        assert loaded["cookie"]["originalMaxAge"] == 3600 * 1000

    def test_refresh_sets_the_stored_lifetime_even_when_shorter(self, store: Store) -> None:
        # As a touch would: the expiry becomes now + originalMaxAge.
        store.set("sid-1", self._record_with_lifetime(self.short_ttl, 3600, views=1))
        assert store.refresh("sid-1") is True
        assert store.get("sid-1") is not None
        self._wait_past_short_ttl()
        assert store.get("sid-1") is None

    def test_refresh_without_expiry_uses_the_ttl(self, short_ttl_store: Store) -> None:
        short_ttl_store.set("sid-1", make_record(None, views=1))
        time.sleep(self.short_ttl * 0.6)
        assert short_ttl_store.refresh("sid-1") is True
        time.sleep(self.short_ttl * 0.6)
        # Past the TTL since the write, within it since the refresh.
        assert short_ttl_store.get("sid-1") is not None
        self._wait_past_short_ttl()
        assert short_ttl_store.get("sid-1") is None

    def test_refresh_does_not_revive_an_expired_record(self, store: Store) -> None:
        store.set("sid-1", self._record_with_lifetime(3600, self.short_ttl, views=1))
        self._wait_past_short_ttl()
        assert store.refresh("sid-1") is False
        assert store.get("sid-1") is None

    def test_get_and_refresh_returns_the_data_and_extends_the_expiry(self, store: Store) -> None:
        record = self._record_with_lifetime(3600, self.short_ttl, views=1, cart=["a"])
        store.set("sid-1", record)
        loaded = store.get_and_refresh("sid-1")
        assert loaded is not None
        assert {k: v for k, v in loaded.items() if k != "cookie"} == {"views": 1, "cart": ["a"]}
        assert loaded["cookie"]["originalMaxAge"] == 3600 * 1000
        self._wait_past_short_ttl()
        assert store.get("sid-1") is not None

    def test_get_and_refresh_returns_the_record_as_get_would(self, store: Store) -> None:
        store.set("sid-1", self._record_with_lifetime(3600, 60, views=1))
        before = store.get("sid-1")
        assert store.get_and_refresh("sid-1") == before

    def test_get_and_refresh_of_a_missing_or_expired_record_is_none(self, store: Store) -> None:
        assert store.get_and_refresh("missing") is None
        store.set("sid-1", self._record_with_lifetime(3600, self.short_ttl, views=1))
        self._wait_past_short_ttl()
        assert store.get_and_refresh("sid-1") is None
        assert store.get("sid-1") is None

    def test_get_and_refresh_returns_a_fresh_object(self, store: Store) -> None:
        store.set("sid-1", make_record(views=1, cart=[]))
        first = store.get_and_refresh("sid-1")
        assert first is not None
        first["cart"].append("mutated")
        second = store.get("sid-1")
        assert second is not None
        assert second["cart"] == []

    def test_refresh_leaves_other_sessions_alone(self, store: Store) -> None:
        store.set("sid-1", self._record_with_lifetime(3600, self.short_ttl, n=1))
        store.set("sid-2", self._record_with_lifetime(3600, self.short_ttl, n=2))
        assert store.refresh("sid-1") is True
        self._wait_past_short_ttl()
        assert store.get("sid-1") is not None
        assert store.get("sid-2") is None

    # all / length / clear

    def test_all_length_clear(self, store: Store) -> None:
        self._bulk()
        assert store.all() == {}
        assert store.length() == 0
        records = {f"sid-{n}": make_record(n=n) for n in range(25)}
        for sid, record in records.items():
            store.set(sid, record)
        assert store.all() == records
        assert store.length() == 25
        store.clear()
        assert store.all() == {}
        assert store.length() == 0
        assert store.get("sid-3") is None

    def test_all_and_length_leave_out_expired_records(self, store: Store) -> None:
        self._bulk()
        store.set("lasting", make_record(3600))
        store.set("short", make_record(self.short_ttl))
        self._wait_past_short_ttl()
        assert set(store.all()) == {"lasting"}
        assert store.length() == 1

    def test_stores_made_apart_are_apart(self, store: Store) -> None:
        other = self.make_store(DEFAULT_TTL)
        try:
            store.set("sid-1", make_record(who="mine"))
            other.set("sid-1", make_record(who="other"))
            mine = store.get("sid-1")
            assert mine is not None
            assert mine["who"] == "mine"
            if self.supports_bulk:
                other.clear()
                assert store.get("sid-1") is not None
                assert store.length() == 1
        finally:
            self.close_store(other)

    # concurrency

    def test_threads(self, store: Store) -> None:
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for n in range(60):
                    sid = f"w{worker}-{n % 7}"
                    store.set(sid, make_record(worker=worker, n=n))
                    loaded = store.get(sid)
                    assert loaded is not None
                    assert loaded["worker"] == worker
                    store.touch(sid, make_record(7200, worker=worker))
                    if n % 5 == 0:
                        store.destroy(sid)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for worker in range(8):
            loaded = store.get(f"w{worker}-{59 % 7}")
            assert loaded is not None
            assert loaded["n"] == 59

    # through the middleware

    def test_sessions_through_the_middleware(self, store: Store) -> None:
        def app(environ: Any, start_response: Any) -> Any:
            session = environ["wsgisession"]
            if environ["PATH_INFO"] == "/logout":
                session.destroy()
                return Response("bye")(environ, start_response)
            session["views"] = session.get("views", 0) + 1
            return Response(str(session["views"]))(environ, start_response)

        client = Client(
            SessionMiddleware(
                app,
                secret="contract",
                store=store,
                resave=False,
                save_uninitialized=False,
                cookie={"max_age": 600},
            )
        )
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
        if self.supports_bulk:
            assert [record["views"] for record in store.all().values()] == [3]
        assert client.get("/logout").text == "bye"
        if self.supports_bulk:
            assert store.length() == 0
        assert client.get("/").text == "1"
