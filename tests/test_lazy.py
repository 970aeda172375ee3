"""Lazy loading: a session is read from the store when the application first
uses it. A request that never does costs no read: its session's expiry is
extended with one ``Store.refresh``, or, where the options need the stored
session (rolling, resave), it is loaded at the end as before. A store with
``get_and_refresh`` (every shipped one) loads and extends in one operation,
and the touch at the end is left out. Every test counts the store calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.http import parse_date
from werkzeug.test import Client

from wsgisession import MemoryStore, Session, StoreError
from wsgisession.record import parse_js_date

from .conftest import (
    FailingStore,
    RecordingStore,
    RefreshingRecordingStore,
    expected_cookie_value,
    make_middleware,
    session_app,
    session_cookie,
    sid_from,
)

HOUR = 3600
LAZY = {"resave": False, "save_uninitialized": False}


@pytest.fixture
def store() -> RecordingStore:
    # MemoryStore's own get_and_refresh, as every shipped store has one.
    return RefreshingRecordingStore()


def _unused(session: Session, environ: dict[str, Any]) -> str:
    return "unused"


def _login(store: RecordingStore, **cookie: Any) -> str:
    """A stored session with ``user``; its store calls are forgotten."""
    client = Client(
        make_middleware(
            session_app(lambda s, e: s.update(user="ada")),
            store=store,
            cookie={"max_age": HOUR, **cookie},
            **LAZY,
        )
    )
    sid = sid_from(client.get("/"))
    assert sid is not None
    store.operations()
    return sid


def _client(
    store: RecordingStore, sid: str | None, view: Callable[..., Any] = _unused, **options: Any
) -> Client:
    options = {**LAZY, "cookie": {"max_age": HOUR}, **options}
    client = Client(make_middleware(session_app(view), store=store, **options))
    if sid is not None:
        client.set_cookie("connect.sid", expected_cookie_value(sid))
    return client


def _stored_expires(store: RecordingStore, sid: str) -> datetime:
    record = store.get(sid)
    store.operations()
    assert record is not None
    return parse_js_date(record["cookie"]["expires"])


def _assert_lives(store: RecordingStore, sid: str, seconds: float) -> None:
    """The stored session expires ``seconds`` from now (give or take 5)."""
    left = _stored_expires(store, sid) - datetime.now(timezone.utc)
    assert timedelta(seconds=seconds - 5) < left <= timedelta(seconds=seconds)


def _backdate(store: RecordingStore, sid: str, seconds_left: float) -> None:
    # As if the session was last touched long ago: it expires soon.
    record = store.get(sid)
    assert record is not None
    expires = datetime.now(timezone.utc) + timedelta(seconds=seconds_left)
    record["cookie"]["expires"] = expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    store.set(sid, record)
    store.operations()


class TestUnusedSession:
    def test_costs_one_refresh_and_no_read(self, store: RecordingStore) -> None:
        sid = _login(store)
        response = _client(store, sid).get("/")
        assert response.text == "unused"
        assert store.operations() == ["refresh"]
        assert session_cookie(response) is None
        # environ["wsgisession.id"] held the cookie's id: the response may vary on it.
        assert response.headers.get("Vary") == "Cookie"

    def test_the_refresh_extends_the_stored_expiry(self, store: RecordingStore) -> None:
        sid = _login(store)
        _backdate(store, sid, 60)
        _client(store, sid).get("/")
        assert store.operations() == ["refresh"]
        _assert_lives(store, sid, HOUR)

    def test_the_refresh_uses_the_sessions_own_lifetime(self, store: RecordingStore) -> None:
        # A 30-day "remember me" session stays 30 days although the options
        # say an hour: the lifetime is the stored cookie's.
        month = 30 * 86400
        sid = _login(store, max_age=month)
        _backdate(store, sid, 60)
        _client(store, sid).get("/")
        assert store.operations() == ["refresh"]
        _assert_lives(store, sid, month)

    def test_the_data_is_untouched(self, store: RecordingStore) -> None:
        sid = _login(store)
        _client(store, sid).get("/")
        record = store.get(sid)
        assert record is not None
        assert {k: v for k, v in record.items() if k != "cookie"} == {"user": "ada"}

    def test_a_session_gone_from_the_store_is_not_recreated(self, store: RecordingStore) -> None:
        response = _client(store, "gone-session-id").get("/")
        assert store.operations() == ["refresh"]
        assert session_cookie(response) is None
        assert store.all() == {}

    def test_a_tampered_cookie_costs_nothing(self, store: RecordingStore) -> None:
        sid = _login(store)
        client = _client(store, None)
        client.set_cookie("connect.sid", expected_cookie_value(sid, secret="another secret"))
        response = client.get("/")
        assert store.operations() == []
        assert session_cookie(response) is None

    def test_no_cookie_costs_nothing(self, store: RecordingStore) -> None:
        response = _client(store, None).get("/")
        assert store.operations() == []
        assert session_cookie(response) is None
        assert response.headers.get("Vary") is None

    def test_the_session_object_is_there_unloaded(self, store: RecordingStore) -> None:
        sid = _login(store)
        seen: dict[str, Any] = {}

        def look(session: Session, environ: dict[str, Any]) -> str:
            seen["repr"] = repr(session)
            seen["is_session"] = isinstance(environ["wsgisession"], Session)
            seen["id_before"] = environ.get("wsgisession.id")
            return "ok"

        _client(store, sid, look).get("/")
        assert seen == {"repr": "<Session (not loaded)>", "is_session": True, "id_before": sid}
        assert store.operations() == ["refresh"]


class TestWhenTheOptionsNeedTheSession:
    def test_save_uninitialized_creates_and_sends_a_session_for_a_new_visitor(
        self, store: RecordingStore
    ) -> None:
        response = _client(store, None, save_uninitialized=True).get("/")
        sid = sid_from(response)
        assert sid is not None
        assert store.operations() == ["set"]
        assert sid in store.all()
        assert response.headers.get("Vary") == "Cookie"

    def test_save_uninitialized_refreshes_a_stored_session(self, store: RecordingStore) -> None:
        sid = _login(store)
        response = _client(store, sid, save_uninitialized=True).get("/")
        assert store.operations() == ["refresh"]
        assert session_cookie(response) is None

    def test_save_uninitialized_replaces_a_session_gone_from_the_store(
        self, store: RecordingStore
    ) -> None:
        # As express-session: the unknown id gets a new session, saved and sent.
        response = _client(store, "gone-session-id", save_uninitialized=True).get("/")
        new = sid_from(response)
        assert new is not None
        assert new != "gone-session-id"
        assert store.operations() == ["refresh", "set"]
        assert list(store.all()) == [new]

    def test_rolling_loads_the_session_to_send_its_cookie(self, store: RecordingStore) -> None:
        month = 30 * 86400
        sid = _login(store, max_age=month)
        response = _client(store, sid, rolling=True).get("/")
        assert store.operations() == ["get_and_refresh"]
        header = session_cookie(response)
        assert header is not None
        # The stored cookie's lifetime, not the options' hour.
        expires = parse_date(header.split("Expires=", 1)[1].split(";", 1)[0])
        assert expires is not None
        left = expires - datetime.now(timezone.utc)
        assert timedelta(seconds=month - 5) < left <= timedelta(seconds=month)
        assert sid_from(response) == sid

    def test_resave_loads_and_writes_the_session(self, store: RecordingStore) -> None:
        sid = _login(store)
        _client(store, sid, resave=True).get("/")
        assert store.operations() == ["get", "set"]
        record = store.get(sid)
        assert record is not None
        assert record["user"] == "ada"

    @pytest.mark.parametrize(
        ("unset", "operations"),
        # Kept as it was: not even read. Destroyed: read for the cookie's attributes.
        [("keep", []), ("destroy", ["get_and_refresh", "destroy"])],
    )
    def test_a_session_unset_unused_is_decided_as_usual(
        self, store: RecordingStore, unset: str, operations: list[str]
    ) -> None:
        sid = _login(store)

        def drop(session: Session, environ: dict[str, Any]) -> None:
            environ["wsgisession"] = None

        response = _client(store, sid, drop, unset=unset).get("/")
        assert store.operations() == operations
        assert (store.get(sid) is None) == (unset == "destroy")
        if unset == "destroy":
            header = session_cookie(response)
            assert header is not None
            assert "Max-Age=0" in header or "Expires=Thu, 01 Jan 1970" in header


class TestFirstUseLoads:
    @pytest.mark.parametrize(
        "use",
        [
            pytest.param(lambda s: s.get("user"), id="get"),
            pytest.param(lambda s: "user" in s, id="contains"),
            pytest.param(lambda s: len(s), id="len"),
            pytest.param(lambda s: list(s), id="iter"),
            pytest.param(lambda s: s.id, id="id"),
            pytest.param(lambda s: s.cookie, id="cookie"),
            pytest.param(lambda s: s.new, id="new"),
            pytest.param(lambda s: s.modified, id="modified"),
            pytest.param(lambda s: s.touch(), id="touch"),
        ],
    )
    def test_any_use_reads_once_and_extends_the_expiry_with_it(
        self, store: RecordingStore, use: Callable[[Session], Any]
    ) -> None:
        sid = _login(store)

        def view(session: Session, environ: dict[str, Any]) -> str:
            use(session)
            use(session)
            return str(session["user"])

        response = _client(store, sid, view).get("/")
        assert response.text == "ada"
        assert store.operations() == ["get_and_refresh"]
        assert response.headers.get("Vary") == "Cookie"

    def test_a_write_is_one_read_and_one_write(self, store: RecordingStore) -> None:
        sid = _login(store)
        response = _client(store, sid, lambda s, e: s.update(views=1)).get("/")
        assert store.operations() == ["get_and_refresh", "set"]
        record = store.get(sid)
        assert record is not None
        assert (record["user"], record["views"]) == ("ada", 1)
        # The cookie has an expiry and the session changed: it is renewed.
        assert sid_from(response) == sid

    def test_the_load_extends_the_expiry_by_the_stored_lifetime(
        self, store: RecordingStore
    ) -> None:
        sid = _login(store)
        _backdate(store, sid, 60)
        _client(store, sid, lambda s, e: s.get("user")).get("/")
        assert store.operations() == ["get_and_refresh"]
        _assert_lives(store, sid, HOUR)

    def test_a_lifetime_changed_by_the_app_is_touched_at_the_end(
        self, store: RecordingStore
    ) -> None:
        # The load extended the expiry by the old lifetime; the touch stores the new one.
        sid = _login(store)
        month = 30 * 86400

        def remember(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.max_age = month

        _client(store, sid, remember).get("/")
        assert store.operations() == ["get_and_refresh", "touch"]
        _assert_lives(store, sid, month)

    def test_a_cookie_attribute_changed_by_the_app_is_touched_at_the_end(
        self, store: RecordingStore
    ) -> None:
        sid = _login(store)
        _client(store, sid, lambda s, e: setattr(s.cookie, "samesite", "strict")).get("/")
        assert store.operations() == ["get_and_refresh", "touch"]
        record = store.get(sid)
        assert record is not None
        assert record["cookie"]["sameSite"] == "strict"

    def test_a_store_without_get_and_refresh_is_read_then_touched(self) -> None:
        plain = RecordingStore()
        sid = _login(plain)
        _client(plain, sid, lambda s, e: s.get("user")).get("/")
        assert plain.operations() == ["get", "touch"]

    def test_resave_loads_with_a_plain_get(self, store: RecordingStore) -> None:
        # resave writes every loaded session: nothing to extend at the read.
        sid = _login(store)
        _client(store, sid, lambda s, e: s.get("user"), resave=True).get("/")
        assert store.operations() == ["get", "set"]

    def test_a_failing_get_and_refresh_is_a_store_error_naming_it(self) -> None:
        class FailingRefreshingStore(FailingStore):
            def get_and_refresh(self, sid: str) -> dict[str, Any] | None:
                self._maybe_fail("get_and_refresh")
                return MemoryStore.get_and_refresh(self, sid)

        failing = FailingRefreshingStore("get_and_refresh")
        client = Client(
            make_middleware(session_app(lambda s, e: str(s.get("n"))), store=failing, **LAZY)
        )
        client.set_cookie("connect.sid", expected_cookie_value("sid-1"))
        with pytest.raises(StoreError) as caught:
            client.get("/")
        assert (caught.value.store, caught.value.operation) == (
            "FailingRefreshingStore",
            "get_and_refresh",
        )
        assert isinstance(caught.value.__cause__, ConnectionError)

    def test_a_new_visitor_who_writes_costs_one_write(self, store: RecordingStore) -> None:
        response = _client(store, None, lambda s, e: s.update(views=1)).get("/")
        sid = sid_from(response)
        assert sid is not None
        assert store.operations() == ["set"]

    def test_environ_id_is_the_cookies_id_then_the_sessions(self, store: RecordingStore) -> None:
        sid = _login(store)
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append(environ.get("wsgisession.id"))
            seen.append(session.id)
            seen.append(environ.get("wsgisession.id"))

        _client(store, sid, view).get("/")
        assert seen == [sid, sid, sid]
        seen.clear()
        # As express-session's req.sessionID: the cookie's id until the load
        # finds it gone and the request gets a new session.
        _client(store, "gone-session-id", view).get("/")
        assert seen[0] == "gone-session-id"
        assert seen[1] == seen[2] != "gone-session-id"

    def test_a_request_without_cookie_has_its_new_id_at_once(self, store: RecordingStore) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append(environ.get("wsgisession.id"))
            session["n"] = 1
            seen.append(session.id)

        response = _client(store, None, view).get("/")
        assert seen[0] is not None
        assert seen == [sid_from(response)] * 2

    def test_a_failed_load_the_app_catches_leaves_nothing_half_loaded(self) -> None:
        store = FailingStore()
        store.set("sid-1", {"cookie": {"originalMaxAge": None, "expires": None}, "user": "ada"})
        store.failing.add("get")
        seen: list[str] = []

        def view(session: Session, environ: dict[str, Any]) -> str:
            for _ in range(2):
                try:
                    session["user"] = "eve"
                except StoreError as error:
                    seen.append(error.operation)
            return "ok"

        client = Client(make_middleware(session_app(view), store=store, **LAZY))
        client.set_cookie("connect.sid", expected_cookie_value("sid-1"))
        assert client.get("/").text == "ok"
        # Each use tried the load again; nothing was saved over the session.
        assert seen == ["get", "get"]
        store.failing.clear()
        record = store.get("sid-1")
        assert record is not None
        assert record["user"] == "ada"


class DecodingStore(MemoryStore):
    """A MemoryStore whose get changes what it returns (as a subclass that
    decrypts would); it inherits MemoryStore's refresh and get_and_refresh."""

    def get(self, sid: str) -> dict[str, Any] | None:
        record = super().get(sid)
        if record is not None and "secret" in record:
            record["secret"] = record["secret"][::-1]
        return record


class KeepingStore(MemoryStore):
    """A MemoryStore whose touch does nothing (connect-redis's disableTouch)."""

    def touch(self, sid: str, record: dict[str, Any]) -> None:
        self.touched = getattr(self, "touched", 0) + 1


class TestSubclassesOfAStore:
    def test_an_overridden_get_is_not_bypassed_by_an_inherited_get_and_refresh(self) -> None:
        store = DecodingStore()
        client = _client(store, None, lambda s, e: s.update(secret="olleh"))  # type: ignore[arg-type]
        sid = sid_from(client.get("/"))
        assert sid is not None
        reader = _client(store, sid, lambda s, e: s["secret"])  # type: ignore[arg-type]
        assert reader.get("/").text == "hello"

    def test_an_overridden_touch_is_not_bypassed_by_an_inherited_refresh(self) -> None:
        store = KeepingStore()
        client = _client(store, None, lambda s, e: s.update(n=1))  # type: ignore[arg-type]
        sid = sid_from(client.get("/"))
        assert sid is not None
        before = store.get(sid)
        _client(store, sid).get("/")  # type: ignore[arg-type]
        # Store.refresh ran: get, then the subclass's touch, which keeps the record.
        assert store.touched == 1
        assert store.get(sid) == before


class TestUseAfterTheHeaders:
    def _streaming(self, store: RecordingStore, sid: str, use: Callable[[Session], Any]) -> Client:
        def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"one "
            # The next chunk sends the headers with the first; the session is used after.
            yield b"two "
            use(environ["wsgisession"])
            yield b"three"

        client = Client(make_middleware(app, store=store, cookie={"max_age": HOUR}, **LAZY))
        client.set_cookie("connect.sid", expected_cookie_value(sid))
        return client

    def test_a_read_after_the_headers_is_not_touched_at_the_end(
        self, store: RecordingStore
    ) -> None:
        # Refreshed when the headers went out, then read (and refreshed again,
        # in the same operation): no touch on top.
        sid = _login(store)
        response = self._streaming(store, sid, lambda s: s.get("user")).get("/")
        assert response.get_data() == b"one two three"
        assert store.operations() == ["refresh", "get_and_refresh"]
        # The headers left before the body used the session: they vary anyway.
        assert response.headers.get("Vary") == "Cookie"

    def test_a_write_after_the_headers_is_saved(self, store: RecordingStore) -> None:
        sid = _login(store)
        response = self._streaming(store, sid, lambda s: s.update(late=True)).get("/")
        assert response.get_data() == b"one two three"
        assert store.operations() == ["refresh", "get_and_refresh", "set"]
        record = store.get(sid)
        assert record is not None
        assert record["late"] is True


# --- the two loading paths agree ---------------------------------------------------

_LIFETIME = 3600


def _seeded(store: MemoryStore, sid: str) -> None:
    # A one-hour session last touched long ago: it expires in a minute.
    record = {
        "cookie": {
            "originalMaxAge": _LIFETIME * 1000,
            "expires": (datetime.now(timezone.utc) + timedelta(seconds=60)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"
            ),
            "httpOnly": True,
            "path": "/",
        },
        "user": "ada",
    }
    store.set(sid, record)


def _view_unused(s: Session, e: dict[str, Any]) -> None:
    return None


def _view_read(s: Session, e: dict[str, Any]) -> str:
    # What the application sees of the cookie: the time left as stored.
    return f"{s.get('user')}|{s.cookie.max_age}"


def _view_modify(s: Session, e: dict[str, Any]) -> None:
    s["views"] = s.get("views", 0) + 1


def _view_lifetime(s: Session, e: dict[str, Any]) -> None:
    s.cookie.max_age = 7 * 86400


def _view_regenerate(s: Session, e: dict[str, Any]) -> None:
    s.regenerate(keep_data=True)


def _view_destroy(s: Session, e: dict[str, Any]) -> None:
    s.destroy()


def _view_unset(s: Session, e: dict[str, Any]) -> None:
    e["wsgisession"] = None


#: The body, the Set-Cookie attributes but Expires, Vary, and per stored id
#: its data and the seconds its expiry is away.
Stored = dict[str, tuple[dict[str, Any], float | None]]
Observed = tuple[str, list[str] | None, str | None, Stored]


def _observe(
    store: MemoryStore, view: Callable[..., Any], cookie: str | None, **options: Any
) -> Observed:
    """What a client sees and the store holds after one request."""
    ids = iter(f"generated-{n}" for n in range(10))
    middleware = make_middleware(
        session_app(view), store=store, genid=lambda environ: next(ids), **options
    )
    client = Client(middleware)
    if cookie is not None:
        client.set_cookie("connect.sid", expected_cookie_value(cookie))
    response = client.get("/")
    header = session_cookie(response)
    # The Expires attribute is a clock reading; everything else must agree.
    attributes = (
        None
        if header is None
        else [part for part in header.split("; ") if not part.startswith("Expires=")]
    )
    now = datetime.now(timezone.utc)
    stored: Stored = {}
    for sid, record in store.all().items():
        expires = record["cookie"].get("expires")
        left = None if expires is None else (parse_js_date(expires) - now).total_seconds()
        stored[sid] = ({k: v for k, v in record.items() if k != "cookie"}, left)
    return response.text, attributes, response.headers.get("Vary"), stored


@pytest.mark.parametrize(
    "view",
    [
        _view_unused,
        _view_read,
        _view_modify,
        _view_lifetime,
        _view_regenerate,
        _view_destroy,
        _view_unset,
    ],
    ids=lambda view: view.__name__.removeprefix("_view_"),
)
@pytest.mark.parametrize("cookie", [None, "seeded-id", "gone-id"], ids=["none", "known", "gone"])
@pytest.mark.parametrize("resave", [False, True], ids=["no-resave", "resave"])
@pytest.mark.parametrize("rolling", [False, True], ids=["no-rolling", "rolling"])
@pytest.mark.parametrize("uninit", [False, True], ids=["no-uninit", "uninit"])
@pytest.mark.parametrize("unset", ["keep", "destroy"])
def test_loading_with_get_and_refresh_is_observably_the_same(
    view: Callable[..., Any],
    cookie: str | None,
    resave: bool,
    rolling: bool,
    uninit: bool,
    unset: str,
) -> None:
    """Headers, stored data and stored expiries are the same whether the store
    loads with get (then touch) or with get_and_refresh (and no touch)."""
    options = {"resave": resave, "rolling": rolling, "save_uninitialized": uninit, "unset": unset}
    seen: list[Observed] = []
    for store in (RecordingStore(), RefreshingRecordingStore()):
        _seeded(store, "seeded-id")
        seen.append(_observe(store, view, cookie, **options))
    (text, attributes, vary, stored), (text2, attributes2, vary2, stored2) = seen
    assert (attributes, vary) == (attributes2, vary2)
    if "|" in text:
        (user, max_age), (user2, max_age2) = text.split("|"), text2.split("|")
        assert user == user2
        assert (max_age == "None") == (max_age2 == "None")
        if max_age != "None":
            assert abs(float(max_age) - float(max_age2)) < 5, (max_age, max_age2)
    else:
        assert text == text2
    assert {sid: data for sid, (data, _) in stored.items()} == {
        sid: data for sid, (data, _) in stored2.items()
    }
    for sid, (_, left) in stored.items():
        other = stored2[sid][1]
        assert (left is None) == (other is None)
        if left is not None and other is not None:
            assert abs(left - other) < 5, (sid, left, other)
