"""MemoryStore as a real store (SPEC §7), and the Store base class.

Expiry is exercised with records whose dates are already past, or with a
small ``ttl`` and a short sleep well beyond it; nothing asserts how long
anything took.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.test import Client

from wsgisession import MemoryStore, SessionMiddleware, Store, StoreError
from wsgisession.record import Record
from wsgisession.stores import DEFAULT_TTL

from .conftest import SECRET, RecordingStore, make_client, session_app

# Long enough past a 0.05 s expiry that no scheduler hiccup matters.
PAST_EXPIRY = 0.25


def js_date(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def record(expires_in: float | None = 3600.0, **data: Any) -> Record:
    """A record in express-session's shape whose cookie expires in
    ``expires_in`` seconds (``None``: a browser-session cookie)."""
    if expires_in is None:
        cookie: dict[str, Any] = {"originalMaxAge": None, "expires": None}
    else:
        expires = datetime.now(timezone.utc) + timedelta(seconds=expires_in)
        cookie = {"originalMaxAge": round(expires_in * 1000), "expires": js_date(expires)}
    cookie.update({"httpOnly": True, "path": "/"})
    return {"cookie": cookie, **data}


def past_record(**data: Any) -> Record:
    return record(expires_in=-60.0, **data)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


# The basic operations.


class TestOperations:
    def test_get_missing(self, store: MemoryStore) -> None:
        assert store.get("nope") is None

    def test_set_then_get(self, store: MemoryStore) -> None:
        stored = record(user="ada", views=3)
        store.set("sid", stored)
        assert store.get("sid") == stored

    def test_set_replaces(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1))
        store.set("sid", record(n=2))
        result = store.get("sid")
        assert result is not None
        assert result["n"] == 2
        assert store.length() == 1

    def test_round_trips_json_values(self, store: MemoryStore) -> None:
        stored = record(
            text="żółw ☃",
            number=1.5,
            flag=True,
            nothing=None,
            items=[1, "two", {"three": [3]}],
            nested={"a": {"b": {"c": []}}},
        )
        store.set("sid", stored)
        assert store.get("sid") == stored

    def test_ids_are_independent(self, store: MemoryStore) -> None:
        store.set("a", record(who="a"))
        store.set("b", record(who="b"))
        a, b = store.get("a"), store.get("b")
        assert a is not None
        assert b is not None
        assert (a["who"], b["who"]) == ("a", "b")

    def test_destroy(self, store: MemoryStore) -> None:
        store.set("a", record())
        store.set("b", record())
        store.destroy("a")
        assert store.get("a") is None
        assert store.get("b") is not None

    def test_destroy_missing_is_no_error(self, store: MemoryStore) -> None:
        store.destroy("nope")
        assert store.length() == 0

    def test_destroy_twice(self, store: MemoryStore) -> None:
        store.set("a", record())
        store.destroy("a")
        store.destroy("a")
        assert store.get("a") is None

    def test_all(self, store: MemoryStore) -> None:
        store.set("a", record(n=1))
        store.set("b", record(n=2))
        everything = store.all()
        assert set(everything) == {"a", "b"}
        assert everything["a"]["n"] == 1
        assert everything["b"]["n"] == 2

    def test_all_empty(self, store: MemoryStore) -> None:
        assert store.all() == {}

    def test_length(self, store: MemoryStore) -> None:
        assert store.length() == 0
        for index in range(5):
            store.set(f"sid-{index}", record())
        assert store.length() == 5
        store.destroy("sid-0")
        assert store.length() == 4

    def test_clear(self, store: MemoryStore) -> None:
        for index in range(5):
            store.set(f"sid-{index}", record())
        store.clear()
        assert store.length() == 0
        assert store.all() == {}
        assert store.get("sid-1") is None

    def test_usable_after_clear(self, store: MemoryStore) -> None:
        store.set("a", record())
        store.clear()
        store.set("b", record(n=1))
        assert store.length() == 1
        assert store.get("b") is not None

    def test_is_a_store(self, store: MemoryStore) -> None:
        assert isinstance(store, Store)


class TestFreshObjects:
    def test_mutating_a_returned_record_leaves_the_store(self, store: MemoryStore) -> None:
        store.set("sid", record(cart=["apple"]))
        first = store.get("sid")
        assert first is not None
        first["cart"].append("pear")
        first["cookie"]["path"] = "/elsewhere"
        first["new"] = 1
        again = store.get("sid")
        assert again is not None
        assert again["cart"] == ["apple"]
        assert again["cookie"]["path"] == "/"
        assert "new" not in again

    def test_two_gets_are_different_objects(self, store: MemoryStore) -> None:
        store.set("sid", record(cart=["apple"]))
        first, second = store.get("sid"), store.get("sid")
        assert first == second
        assert first is not second
        assert first is not None
        assert second is not None
        assert first["cart"] is not second["cart"]

    def test_mutating_the_record_after_set_leaves_the_store(self, store: MemoryStore) -> None:
        stored = record(cart=["apple"])
        store.set("sid", stored)
        stored["cart"].append("pear")
        stored["cookie"]["path"] = "/elsewhere"
        result = store.get("sid")
        assert result is not None
        assert result["cart"] == ["apple"]
        assert result["cookie"]["path"] == "/"

    def test_get_does_not_return_the_object_given_to_set(self, store: MemoryStore) -> None:
        stored = record(n=1)
        store.set("sid", stored)
        assert store.get("sid") is not stored

    def test_all_returns_fresh_objects(self, store: MemoryStore) -> None:
        store.set("sid", record(cart=["apple"]))
        store.all()["sid"]["cart"].append("pear")
        result = store.get("sid")
        assert result is not None
        assert result["cart"] == ["apple"]
        assert store.all()["sid"] is not store.all()["sid"]


# Expiry.


class TestExpiry:
    def test_past_expiry_is_not_stored(self, store: MemoryStore) -> None:
        store.set("sid", past_record(n=1))
        # Before any read, which would drop it anyway: it was never kept.
        assert "sid" not in store._entries
        assert store.get("sid") is None
        assert store.length() == 0
        assert store.all() == {}

    def test_past_expiry_removes_an_existing_record(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1))
        store.set("sid", past_record(n=2))
        assert "sid" not in store._entries
        assert store.get("sid") is None
        assert store.length() == 0

    def test_expiry_at_epoch_is_not_stored(self, store: MemoryStore) -> None:
        stale = record(n=1)
        stale["cookie"]["expires"] = "1970-01-01T00:00:00.000Z"
        store.set("sid", stale)
        assert store.get("sid") is None

    def test_future_expiry_is_kept(self, store: MemoryStore) -> None:
        store.set("sid", record(expires_in=3600))
        assert store.get("sid") is not None

    def test_record_that_expires_is_not_returned(self, store: MemoryStore) -> None:
        store.set("soon", record(expires_in=0.05, n=1))
        store.set("later", record(expires_in=3600, n=2))
        assert store.get("soon") is not None
        time.sleep(PAST_EXPIRY)
        assert store.get("soon") is None
        assert store.get("later") is not None

    def test_all_omits_expired_records(self, store: MemoryStore) -> None:
        store.set("soon", record(expires_in=0.05))
        store.set("later", record(expires_in=3600))
        time.sleep(PAST_EXPIRY)
        assert set(store.all()) == {"later"}

    def test_length_omits_expired_records(self, store: MemoryStore) -> None:
        store.set("soon", record(expires_in=0.05))
        store.set("later", record(expires_in=3600))
        assert store.length() == 2
        time.sleep(PAST_EXPIRY)
        assert store.length() == 1

    def test_expired_record_stays_gone(self, store: MemoryStore) -> None:
        store.set("soon", record(expires_in=0.05))
        time.sleep(PAST_EXPIRY)
        assert store.get("soon") is None
        assert store.get("soon") is None
        assert store.all() == {}

    def test_default_ttl_is_one_day(self, store: MemoryStore) -> None:
        assert DEFAULT_TTL == 86400
        assert store.ttl == 86400

    @pytest.mark.parametrize(
        "stored",
        [
            pytest.param(record(expires_in=None, n=1), id="browser-session-cookie"),
            pytest.param({"cookie": {"originalMaxAge": None}, "n": 1}, id="no-expires-key"),
            pytest.param({"n": 1}, id="no-cookie"),
        ],
    )
    def test_record_without_expiry_lives_for_ttl(self, stored: Record) -> None:
        store = MemoryStore(ttl=0.05)
        store.set("sid", stored)
        assert store.get("sid") == stored
        assert store.length() == 1
        time.sleep(PAST_EXPIRY)
        assert store.get("sid") is None
        assert store.length() == 0
        assert store.all() == {}

    def test_record_without_expiry_survives_with_the_default_ttl(self, store: MemoryStore) -> None:
        store.set("sid", record(expires_in=None))
        time.sleep(0.1)
        assert store.get("sid") is not None

    def test_cookie_expiry_wins_over_ttl(self) -> None:
        store = MemoryStore(ttl=0.05)
        store.set("sid", record(expires_in=3600))
        time.sleep(PAST_EXPIRY)
        assert store.get("sid") is not None

    @pytest.mark.slow
    def test_rewriting_restarts_the_ttl(self) -> None:
        store = MemoryStore(ttl=1.0)
        store.set("sid", record(expires_in=None, n=1))
        time.sleep(0.7)
        store.set("sid", record(expires_in=None, n=2))
        time.sleep(0.7)
        result = store.get("sid")
        assert result is not None
        assert result["n"] == 2


class TestPruning:
    def test_expired_records_are_pruned_on_write(self) -> None:
        store = MemoryStore(ttl=0.05)
        for index in range(1000):
            store.set(f"old-{index}", record(expires_in=None))
        assert len(store._entries) == 1000
        time.sleep(PAST_EXPIRY)
        store.set("new", record(expires_in=3600))
        assert len(store._entries) <= 10
        assert len(store._expiries) <= 10
        assert store.get("new") is not None

    def test_expired_cookie_dates_are_pruned_on_write(self, store: MemoryStore) -> None:
        for index in range(1000):
            store.set(f"old-{index}", record(expires_in=0.05))
        time.sleep(PAST_EXPIRY)
        store.set("new", record(expires_in=3600))
        assert len(store._entries) <= 10
        assert len(store._expiries) <= 10

    def test_many_writes_to_one_id_stay_bounded(self, store: MemoryStore) -> None:
        for index in range(5000):
            store.set("sid", record(n=index))
        assert len(store._entries) == 1
        assert len(store._expiries) <= 200

    def test_many_touches_stay_bounded(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1))
        for _ in range(5000):
            store.touch("sid", record())
        assert len(store._entries) == 1
        assert len(store._expiries) <= 200

    def test_set_and_destroy_churn_stays_bounded(self, store: MemoryStore) -> None:
        for index in range(5000):
            store.set(f"sid-{index}", record())
            store.destroy(f"sid-{index}")
        assert len(store._entries) == 0
        assert len(store._expiries) <= 200

    def test_live_records_are_not_pruned(self) -> None:
        store = MemoryStore(ttl=0.05)
        for index in range(100):
            store.set(f"live-{index}", record(expires_in=3600))
        for index in range(100):
            store.set(f"old-{index}", record(expires_in=None))
        time.sleep(PAST_EXPIRY)
        store.set("new", record(expires_in=3600))
        assert store.length() == 101
        assert all(store.get(f"live-{index}") is not None for index in range(100))

    def test_rewritten_record_is_not_pruned_by_its_old_expiry(self) -> None:
        store = MemoryStore(ttl=0.05)
        store.set("sid", record(expires_in=None, n=1))
        store.set("sid", record(expires_in=3600, n=2))
        time.sleep(PAST_EXPIRY)
        store.set("other", record())
        result = store.get("sid")
        assert result is not None
        assert result["n"] == 2


# touch.


class TestTouch:
    def test_extends_the_expiry(self, store: MemoryStore) -> None:
        store.set("sid", record(expires_in=0.05, n=1))
        store.touch("sid", record(expires_in=3600))
        time.sleep(PAST_EXPIRY)
        assert store.get("sid") is not None

    def test_stores_the_new_cookie(self, store: MemoryStore) -> None:
        store.set("sid", record(expires_in=60, n=1))
        fresh = record(expires_in=7200)
        store.touch("sid", fresh)
        result = store.get("sid")
        assert result is not None
        assert result["cookie"] == fresh["cookie"]

    def test_leaves_the_data_as_stored(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1, user="ada"))
        store.touch("sid", record(n=999, user="mallory", extra=True))
        result = store.get("sid")
        assert result is not None
        assert result["n"] == 1
        assert result["user"] == "ada"
        assert "extra" not in result

    def test_missing_sid_is_a_noop(self, store: MemoryStore) -> None:
        store.touch("nope", record(n=1))
        assert store.get("nope") is None
        assert store.length() == 0

    def test_expired_sid_is_a_noop(self, store: MemoryStore) -> None:
        store.set("sid", record(expires_in=0.05, n=1))
        time.sleep(PAST_EXPIRY)
        store.touch("sid", record(expires_in=3600, n=1))
        assert store.get("sid") is None
        assert store.length() == 0

    def test_destroyed_sid_is_a_noop(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1))
        store.destroy("sid")
        store.touch("sid", record(n=1))
        assert store.get("sid") is None

    def test_touch_with_past_expiry_removes(self, store: MemoryStore) -> None:
        store.set("sid", record(n=1))
        store.touch("sid", past_record())
        assert store.get("sid") is None

    def test_touch_without_expiry_lives_for_ttl(self) -> None:
        store = MemoryStore(ttl=60)
        store.set("sid", record(expires_in=0.05, n=1))
        store.touch("sid", record(expires_in=None))
        time.sleep(PAST_EXPIRY)
        assert store.get("sid") is not None

    @pytest.mark.slow
    def test_touch_restarts_the_ttl(self) -> None:
        store = MemoryStore(ttl=1.0)
        store.set("sid", record(expires_in=None, n=1))
        time.sleep(0.7)
        store.touch("sid", record(expires_in=None))
        time.sleep(0.7)
        assert store.get("sid") is not None


# Threads.


@pytest.mark.slow
def test_threads_on_overlapping_ids() -> None:
    store = MemoryStore()
    shared = [f"shared-{index}" for index in range(8)]
    errors: list[BaseException] = []
    final: dict[str, int | None] = {}
    final_lock = threading.Lock()
    start = threading.Barrier(16)

    def worker(number: int) -> None:
        rng = random.Random(number)
        own = f"own-{number}"
        last: int | None = None
        try:
            start.wait()
            for step in range(2500):
                sid = rng.choice(shared)
                operation = rng.randrange(4)
                if operation == 0:
                    store.set(sid, record(owner=number, step=step, check=f"{number}:{step}"))
                elif operation == 1:
                    found = store.get(sid)
                    if found is not None:
                        assert found["check"] == f"{found['owner']}:{found['step']}"
                elif operation == 2:
                    store.touch(sid, record(expires_in=7200))
                else:
                    store.destroy(sid)
                if step % 3 == 0:
                    store.set(own, record(owner=number, step=step, check=f"{number}:{step}"))
                    last = step
                elif step % 7 == 0:
                    store.destroy(own)
                    last = None
        except BaseException as error:
            errors.append(error)
        with final_lock:
            final[own] = last

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(final) == 16
    for own, last in final.items():
        found = store.get(own)
        if last is None:
            assert found is None
        else:
            assert found is not None
            assert found["step"] == last
    everything = store.all()
    assert store.length() == len(everything)
    assert set(everything) <= set(shared) | set(final)
    for found in everything.values():
        assert found["check"] == f"{found['owner']}:{found['step']}"
    assert set(store._entries) == set(everything)


def test_threads_setting_distinct_ids() -> None:
    store = MemoryStore()
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            for step in range(200):
                store.set(f"{number}-{step}", record(n=step))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.length() == 16 * 200


# The Store base class.


class DictStore(Store):
    """The least a store implements: get, set and destroy over a dict."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def get(self, sid: str) -> Record | None:
        found = self.records.get(sid)
        return None if found is None else dict(found)

    def set(self, sid: str, record: Record) -> None:
        self.records[sid] = dict(record)

    def destroy(self, sid: str) -> None:
        self.records.pop(sid, None)


class TouchingDictStore(DictStore):
    """A DictStore whose touch records what it was given and applies it."""

    def __init__(self) -> None:
        super().__init__()
        self.touched: list[tuple[str, Record]] = []

    def touch(self, sid: str, record: Record) -> None:
        self.touched.append((sid, record))
        if sid in self.records:
            self.records[sid] = {**self.records[sid], "cookie": record["cookie"]}


class ListingStore(DictStore):
    def all(self) -> dict[str, Record]:
        return {sid: dict(found) for sid, found in self.records.items()}


class TestRefresh:
    def test_refresh_rewrites_the_cookie_expiry_from_the_lifetime(self) -> None:
        store = MemoryStore()
        stored = record(expires_in=60, n=1)
        stored["cookie"]["originalMaxAge"] = 7200 * 1000
        store.set("sid", stored)
        before = datetime.now(timezone.utc).replace(microsecond=0)
        assert store.refresh("sid") is True
        loaded = store.get("sid")
        assert loaded is not None
        assert loaded["n"] == 1
        assert loaded["cookie"]["originalMaxAge"] == 7200 * 1000
        expires = datetime.fromisoformat(loaded["cookie"]["expires"].replace("Z", "+00:00"))
        assert before + timedelta(seconds=7199) < expires < before + timedelta(seconds=7202)

    def test_refresh_of_a_record_without_a_cookie_uses_the_ttl(self) -> None:
        store = MemoryStore(ttl=100)
        store.set("sid", {"n": 1})
        assert store.refresh("sid") is True
        assert store.get("sid") == {"n": 1}

    def test_refresh_does_not_undo_a_write_made_meanwhile(self) -> None:
        # The entry is read, then written back only if no save replaced it.
        store = MemoryStore()
        store.set("sid", record(n=1))
        entry = store._entries["sid"]
        store.set("sid", record(n=2))
        store._replace("sid", entry, store._refreshed(entry, time.time()), time.time())
        loaded = store.get("sid")
        assert loaded is not None
        assert loaded["n"] == 2


class TestStoreBase:
    def test_cannot_instantiate_store(self) -> None:
        with pytest.raises(TypeError):
            Store()  # type: ignore[abstract]

    @pytest.mark.parametrize("missing", ["get", "set", "destroy"])
    def test_get_set_destroy_are_required(self, missing: str) -> None:
        methods = {
            name: getattr(DictStore, name) for name in ("get", "set", "destroy") if name != missing
        }
        incomplete = type("Incomplete", (Store,), methods)
        with pytest.raises(TypeError, match=missing):
            incomplete()

    def test_minimal_subclass_can_be_instantiated(self) -> None:
        assert isinstance(DictStore(), Store)

    def test_default_touch_leaves_the_record_alone(self) -> None:
        # As express-session with a store without touch: no read-modify-write
        # that could overwrite a concurrent save.
        store = DictStore()
        stored = record(expires_in=60, n=1)
        store.set("sid", stored)
        store.touch("sid", record(expires_in=7200, n=999))
        assert store.get("sid") == stored

    def test_default_touch_of_a_missing_sid_is_a_noop(self) -> None:
        store = DictStore()
        store.touch("nope", record(n=1))
        assert store.records == {}

    def test_default_refresh_reads_and_touches_with_the_expiry_restarted(self) -> None:
        store = TouchingDictStore()
        # A 2-hour session last touched long ago: it expires in a minute.
        stored = record(expires_in=60, n=1)
        stored["cookie"]["originalMaxAge"] = 7200 * 1000
        store.set("sid", stored)
        before = datetime.now(timezone.utc)
        assert store.refresh("sid") is True
        [(sid, touched)] = store.touched
        assert sid == "sid"
        assert touched["n"] == 1
        expires = datetime.fromisoformat(touched["cookie"]["expires"].replace("Z", "+00:00"))
        assert before + timedelta(seconds=7199) < expires <= before + timedelta(seconds=7201)
        # The stored record was only read: it is what the touch made it.
        assert store.records["sid"]["cookie"] == touched["cookie"]

    def test_default_refresh_of_a_browser_session_touches_it_as_it_is(self) -> None:
        store = TouchingDictStore()
        store.set("sid", record(expires_in=None, n=1))
        assert store.refresh("sid") is True
        assert store.touched == [("sid", record(expires_in=None, n=1))]

    def test_default_refresh_of_a_missing_sid_is_false(self) -> None:
        store = TouchingDictStore()
        assert store.refresh("nope") is False
        assert store.touched == []
        assert store.records == {}

    def test_default_refresh_of_a_lifetime_beyond_any_date_is_a_value_error(self) -> None:
        store = TouchingDictStore()
        stored = record(n=1)
        stored["cookie"]["originalMaxAge"] = 10**20
        store.set("sid", stored)
        with pytest.raises(ValueError, match="originalMaxAge"):
            store.refresh("sid")

    @pytest.mark.parametrize("method", ["all", "clear", "length"])
    def test_optional_methods_raise_not_implemented(self, method: str) -> None:
        with pytest.raises(NotImplementedError, match="DictStore"):
            getattr(DictStore(), method)()

    def test_default_length_counts_all(self) -> None:
        store = ListingStore()
        store.set("a", record())
        store.set("b", record())
        assert store.length() == 2

    def test_minimal_store_works_under_the_middleware(self) -> None:
        store = DictStore()
        client = make_client(lambda session, environ: session.update(n=1), store=store)
        client.get("/")
        assert len(store.records) == 1
        [stored] = store.records.values()
        assert stored["n"] == 1
        assert "cookie" in stored


class TestStoreErrors:
    def test_turns_an_exception_into_store_error(self) -> None:
        store = DictStore()
        with pytest.raises(StoreError) as info, store.errors("get"):
            raise ConnectionError("refused")
        error = info.value
        assert error.store == "DictStore"
        assert error.operation == "get"
        assert isinstance(error.__cause__, ConnectionError)
        assert "DictStore" in str(error)
        assert "get" in str(error)
        assert "refused" in str(error)

    @pytest.mark.parametrize("operation", ["get", "set", "destroy", "touch", "all", "clear"])
    def test_names_the_operation(self, operation: str) -> None:
        with pytest.raises(StoreError) as info, MemoryStore().errors(operation):
            raise OSError("disk on fire")
        assert info.value.operation == operation
        assert info.value.store == "MemoryStore"

    def test_store_error_passes_through_unchanged(self) -> None:
        original = StoreError("Other", "set", "already wrapped")
        with pytest.raises(StoreError) as info, DictStore().errors("get"):
            raise original
        assert info.value is original

    def test_no_exception_no_error(self) -> None:
        with DictStore().errors("get"):
            value = 1
        assert value == 1

    def test_value_returned_from_inside(self) -> None:
        class Wrapping(DictStore):
            def get(self, sid: str) -> Record | None:
                with self.errors("get"):
                    if sid == "boom":
                        raise TimeoutError("slow")
                    return super().get(sid)

        store = Wrapping()
        store.set("a", record(n=1))
        assert store.get("a") is not None
        with pytest.raises(StoreError) as info:
            store.get("boom")
        assert info.value.store == "Wrapping"
        assert isinstance(info.value.__cause__, TimeoutError)


# ttl.


@pytest.mark.parametrize(
    ("ttl", "error"),
    [
        pytest.param(0, ValueError, id="zero"),
        pytest.param(0.0, ValueError, id="zero-float"),
        pytest.param(-1, ValueError, id="negative"),
        pytest.param(float("nan"), ValueError, id="nan"),
        pytest.param(float("inf"), ValueError, id="inf"),
        pytest.param("60", TypeError, id="str"),
        pytest.param(True, TypeError, id="bool"),
        pytest.param(None, TypeError, id="none"),
    ],
)
def test_invalid_ttl(ttl: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="ttl"):
        MemoryStore(ttl=ttl)


@pytest.mark.parametrize("ttl", [1, 0.5, 3600, 86400.0])
def test_valid_ttl(ttl: float) -> None:
    assert MemoryStore(ttl=ttl).ttl == ttl


# The multiprocess warning.


def _middleware(store: Store | None = None) -> SessionMiddleware:
    return SessionMiddleware(
        session_app(), secret=SECRET, store=store, resave=False, save_uninitialized=False
    )


class TestMultiprocessWarning:
    def test_warns_on_a_multiprocess_first_request(self) -> None:
        client = Client(_middleware())
        with pytest.warns(RuntimeWarning) as caught:
            client.get("/", environ_overrides={"wsgi.multiprocess": True})
        [warning] = caught
        message = str(warning.message)
        assert "SQLiteStore" in message
        assert "RedisStore" in message

    def test_warns_once(self) -> None:
        client = Client(_middleware())
        with pytest.warns(RuntimeWarning) as caught:
            client.get("/", environ_overrides={"wsgi.multiprocess": True})
        assert len(caught) == 1
        # filterwarnings=error: a second warning would fail these requests.
        client.get("/", environ_overrides={"wsgi.multiprocess": True})
        client.get("/", environ_overrides={"wsgi.multiprocess": True})

    def test_warns_for_a_memory_store_subclass(self) -> None:
        client = Client(_middleware(RecordingStore()))
        with pytest.warns(RuntimeWarning, match="SQLiteStore"):
            client.get("/", environ_overrides={"wsgi.multiprocess": True})

    def test_each_middleware_warns(self) -> None:
        first, second = Client(_middleware()), Client(_middleware())
        with pytest.warns(RuntimeWarning):
            first.get("/", environ_overrides={"wsgi.multiprocess": True})
        with pytest.warns(RuntimeWarning):
            second.get("/", environ_overrides={"wsgi.multiprocess": True})

    def test_no_warning_for_a_single_process(self) -> None:
        # filterwarnings=error turns any warning here into a failure.
        client = Client(_middleware())
        response = client.get("/", environ_overrides={"wsgi.multiprocess": False})
        assert response.status_code == 200

    def test_no_warning_at_construction(self) -> None:
        _middleware()

    def test_no_warning_for_another_store(self) -> None:
        client = Client(_middleware(DictStore()))
        response = client.get("/", environ_overrides={"wsgi.multiprocess": True})
        assert response.status_code == 200

    def test_no_warning_for_multithreaded_servers(self) -> None:
        client = Client(_middleware())
        response = client.get(
            "/", environ_overrides={"wsgi.multithread": True, "wsgi.multiprocess": False}
        )
        assert response.status_code == 200


class TestMaxEntries:
    def test_default_cap(self) -> None:
        assert MemoryStore().max_entries == 100_000

    def test_full_store_evicts_the_records_closest_to_expiry(self) -> None:
        store = MemoryStore(max_entries=3)
        store.set("soon", record(expires_in=10))
        store.set("later", record(expires_in=1000))
        store.set("latest", record(expires_in=5000))
        store.set("new", record(expires_in=3000))
        assert set(store.all()) == {"later", "latest", "new"}
        assert len(store._entries) == 3

    def test_rewriting_a_present_record_evicts_nothing(self) -> None:
        store = MemoryStore(max_entries=2)
        store.set("a", record(expires_in=10))
        store.set("b", record(expires_in=20))
        store.set("a", record(expires_in=30, n=2))
        assert set(store.all()) == {"a", "b"}

    def test_a_flood_of_new_visitors_stays_bounded(self) -> None:
        store = MemoryStore(max_entries=50)
        client = Client(
            SessionMiddleware(
                session_app(), secret=SECRET, store=store, resave=True, save_uninitialized=True
            )
        )
        # Each new client is a new visitor without a cookie.
        for _ in range(300):
            Client(client.application).get("/")
        assert store.length() == 50
        assert len(store._entries) <= 50
        assert len(store._expiries) <= 2 * 50 + 64

    def test_no_cap(self) -> None:
        store = MemoryStore(max_entries=None)
        for n in range(200):
            store.set(f"s{n}", record())
        assert store.length() == 200

    @pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
    def test_invalid(self, value: Any) -> None:
        with pytest.raises(ValueError, match="max_entries"):
            MemoryStore(max_entries=value)
