"""The session lifecycle of SPEC §3 and §6, end to end through
:class:`werkzeug.test.Client`: which responses carry the cookie, what the store
holds afterwards, and which store operations the middleware called.

Grouped by option and by session method, as express-session's ``describe``
blocks are. Expiry is observed without waiting: a test moves a stored
record's expiry close to now and checks that the request pushed it back out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.http import parse_date
from werkzeug.test import Client, TestResponse

from wsgisession import Session, SessionError, SessionMiddleware, get_session

from .conftest import (
    RecordingStore,
    expected_cookie_value,
    make_client,
    make_middleware,
    session_app,
    session_cookie,
    sid_from,
)

HOUR = 3600
View = Callable[[Session, dict[str, Any]], Any]


# --- helpers -------------------------------------------------------------------


def _set_user(session: Session, environ: dict[str, Any]) -> None:
    session["user"] = "ada"


def _noop(session: Session, environ: dict[str, Any]) -> None:
    pass


def _read(session: Session, environ: dict[str, Any]) -> str:
    return str(session.get("user"))


BASE_ROUTES: dict[str, View] = {"/set": _set_user, "/noop": _noop, "/read": _read}


def app_client(
    store: RecordingStore, routes: dict[str, View] | None = None, **options: Any
) -> Client:
    """A client for an app routing ``PATH_INFO`` to views, ``/set``, ``/noop``
    and ``/read`` included."""
    table = {**BASE_ROUTES, **(routes or {})}

    def view(session: Session, environ: dict[str, Any]) -> Any:
        handler = table.get(environ["PATH_INFO"])
        return None if handler is None else handler(session, environ)

    return Client(make_middleware(session_app(view), store=store, **options))


def login(client: Client, store: RecordingStore, path: str = "/set", **kwargs: Any) -> str:
    """Make the session exist: a request that sets ``user``; forget its
    store calls and return its id."""
    response = client.get(path, **kwargs)
    sid = sid_from(response)
    assert sid is not None
    assert sid in store.all()
    store.operations()
    return sid


def cookie_value(response: TestResponse) -> str | None:
    header = session_cookie(response)
    return None if header is None else header.split(";", 1)[0].split("=", 1)[1]


def attributes(header: str) -> dict[str, str | None]:
    """The attributes of a Set-Cookie header value, keyed in lower case."""
    result: dict[str, str | None] = {}
    for part in header.split(";")[1:]:
        key, sep, value = part.strip().partition("=")
        result[key.lower()] = value if sep else None
    return result


def cookie_expires(response: TestResponse) -> datetime | None:
    header = session_cookie(response)
    assert header is not None
    value = attributes(header).get("expires")
    return None if value is None else parse_date(value)


def data_of(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "cookie"}


def js_date(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_js_date(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def stored_expires(store: RecordingStore, sid: str) -> datetime:
    expires = store.all()[sid]["cookie"]["expires"]
    assert isinstance(expires, str)
    return parse_js_date(expires)


def now() -> datetime:
    return datetime.now(timezone.utc)


def backdate(store: RecordingStore, sid: str, seconds_left: float = 60) -> datetime:
    """Make the stored record expire ``seconds_left`` from now (as if it had
    been written long ago), keeping its ``originalMaxAge``."""
    record = store.all()[sid]
    expires = now() + timedelta(seconds=seconds_left)
    record["cookie"]["expires"] = js_date(expires)
    store.set(sid, record)
    store.operations()
    return parse_js_date(js_date(expires))


def with_cookie(client: Client, sid: str) -> Client:
    """Another browser holding a validly signed cookie for ``sid``."""
    other = Client(client.application)
    other.set_cookie("connect.sid", expected_cookie_value(sid))
    return other


# --- resave ----------------------------------------------------------------------


class TestResave:
    @pytest.mark.parametrize(
        ("resave", "operations"),
        [
            pytest.param(True, ["get", "set"], id="resave-saves"),
            pytest.param(False, ["get", "touch"], id="no-resave-touches"),
        ],
    )
    def test_unmodified_loaded_session(
        self, store: RecordingStore, resave: bool, operations: list[str]
    ) -> None:
        client = app_client(store, resave=resave, cookie={"max_age": HOUR})
        sid = login(client, store)
        response = client.get("/read")
        assert response.text == "ada"
        assert store.operations() == operations
        assert session_cookie(response) is None
        assert data_of(store.all()[sid]) == {"user": "ada"}

    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    def test_stored_expiry_moves_forward(self, store: RecordingStore, resave: bool) -> None:
        client = app_client(store, resave=resave, cookie={"max_age": HOUR})
        sid = login(client, store)
        old_expiry = backdate(store, sid, 60)
        client.get("/noop")
        # Unused, the session is refreshed without being read; resave reads and writes it.
        assert store.operations() == (["get", "set"] if resave else ["refresh"])
        assert stored_expires(store, sid) > old_expiry + timedelta(seconds=HOUR / 2)
        # The lifetime itself is not changed by touching.
        assert store.all()[sid]["cookie"]["originalMaxAge"] == HOUR * 1000

    def test_false_touch_does_not_rewrite_data(self, store: RecordingStore) -> None:
        # A touch extends the expiry only: data another request wrote meanwhile survives.
        client = app_client(store, resave=False, cookie={"max_age": HOUR})
        sid = login(client, store)

        def concurrent_write(session: Session, environ: dict[str, Any]) -> None:
            session.get("user")
            record = store.all()[sid]
            record["other"] = "written meanwhile"
            store.set(sid, record)

        client = app_client(store, {"/race": concurrent_write}, resave=False)
        client.set_cookie("connect.sid", expected_cookie_value(sid))
        client.get("/race")
        assert store.operations() == ["get", "set", "touch"]
        assert data_of(store.all()[sid]) == {"user": "ada", "other": "written meanwhile"}

    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    def test_modified_session_is_saved(self, store: RecordingStore, resave: bool) -> None:
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        client = app_client(store, {"/change": change}, resave=resave)
        sid = login(client, store)
        client.get("/change")
        assert store.operations() == ["get", "set"]
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_resave_with_browser_session_cookie_sends_no_cookie(
        self, store: RecordingStore
    ) -> None:
        client = app_client(store, resave=True)
        login(client, store)
        response = client.get("/noop")
        assert store.operations() == ["get", "set"]
        assert session_cookie(response) is None

    def test_default_is_true_with_a_warning(self, store: RecordingStore) -> None:
        with pytest.warns(DeprecationWarning, match="resave"):
            middleware = SessionMiddleware(
                session_app(_set_user), secret="s", store=store, save_uninitialized=True
            )
        client = Client(middleware)
        login(client, store)
        client.get("/")
        assert store.operations() == ["get", "set"]


# --- save_uninitialized -------------------------------------------------------------


class TestSaveUninitialized:
    def test_true_stores_and_sends_an_untouched_session(self, store: RecordingStore) -> None:
        client = app_client(store, save_uninitialized=True)
        response = client.get("/noop")
        sid = sid_from(response)
        assert sid is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert store.operations() == ["set"]
        assert list(store.all()) == [sid]
        assert data_of(store.all()[sid]) == {}

    @pytest.mark.parametrize("rolling", [False, True], ids=["not-rolling", "rolling"])
    @pytest.mark.parametrize("path", ["/noop", "/read"], ids=["untouched", "read-only"])
    def test_false_neither_stores_nor_sends_an_untouched_session(
        self, store: RecordingStore, rolling: bool, path: str
    ) -> None:
        client = app_client(store, save_uninitialized=False, rolling=rolling)
        response = client.get(path)
        assert session_cookie(response) is None
        assert response.headers.getlist("Set-Cookie") == []
        assert store.all() == {}
        assert store.operations() == []

    def test_false_stores_and_sends_a_modified_session(self, store: RecordingStore) -> None:
        client = app_client(store, save_uninitialized=False)
        response = client.get("/set")
        sid = sid_from(response)
        assert sid is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert store.operations() == ["set"]
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_false_modified_then_reverted_is_untouched(self, store: RecordingStore) -> None:
        def set_and_unset(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            del session["user"]

        client = app_client(store, {"/flip": set_and_unset}, save_uninitialized=False)
        response = client.get("/flip")
        assert session_cookie(response) is None
        assert store.all() == {}

    def test_false_manual_save_stores_but_sends_no_cookie(self, store: RecordingStore) -> None:
        # express-session quirk (reference §1.2): saved, yet no Set-Cookie.
        seen: dict[str, str] = {}

        def save(session: Session, environ: dict[str, Any]) -> None:
            seen["id"] = session.id
            session.save()

        client = app_client(store, {"/save": save}, save_uninitialized=False)
        response = client.get("/save")
        assert session_cookie(response) is None
        assert store.operations() == ["set"]
        assert list(store.all()) == [seen["id"]]
        assert data_of(store.all()[seen["id"]]) == {}

    def test_true_manual_save_is_not_saved_twice(self, store: RecordingStore) -> None:
        def save(session: Session, environ: dict[str, Any]) -> None:
            session.save()

        client = app_client(store, {"/save": save}, save_uninitialized=True)
        response = client.get("/save")
        sid = sid_from(response)
        assert sid is not None
        assert store.operations() == ["set"]
        assert list(store.all()) == [sid]

    def test_false_manual_save_then_modify_sends_and_saves_again(
        self, store: RecordingStore
    ) -> None:
        def save_then_set(session: Session, environ: dict[str, Any]) -> None:
            session.save()
            session["user"] = "ada"

        client = app_client(store, {"/save": save_then_set}, save_uninitialized=False)
        response = client.get("/save")
        sid = sid_from(response)
        assert sid is not None
        assert store.operations() == ["set", "set"]
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_false_modified_and_saved_by_hand_is_saved_once(self, store: RecordingStore) -> None:
        def set_and_save(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.save()

        client = app_client(store, {"/save": set_and_save}, save_uninitialized=False)
        response = client.get("/save")
        sid = sid_from(response)
        assert sid is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert store.operations() == ["set"]
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_false_loaded_unmodified_session_is_kept(self, store: RecordingStore) -> None:
        # "Uninitialized" is about new sessions: a loaded one is touched as usual.
        client = app_client(store, save_uninitialized=False, resave=False)
        sid = login(client, store)
        response = client.get("/read")
        assert session_cookie(response) is None
        assert store.operations() == ["get", "touch"]
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_default_is_true_with_a_warning(self, store: RecordingStore) -> None:
        with pytest.warns(DeprecationWarning, match="save_uninitialized"):
            middleware = SessionMiddleware(
                session_app(_noop), secret="s", store=store, resave=False
            )
        response = Client(middleware).get("/")
        assert sid_from(response) in store.all()


# --- rolling -----------------------------------------------------------------------


class TestRolling:
    @pytest.mark.parametrize(
        ("resave", "operation"),
        [pytest.param(True, "set", id="resave"), pytest.param(False, "touch", id="no-resave")],
    )
    def test_sends_the_cookie_on_every_response(
        self, store: RecordingStore, resave: bool, operation: str
    ) -> None:
        client = app_client(store, rolling=True, resave=resave, cookie={"max_age": HOUR})
        sid = login(client, store)
        for _ in range(3):
            response = client.get("/noop")
            assert cookie_value(response) == expected_cookie_value(sid)
            assert store.operations() == ["get", operation]
        assert list(store.all()) == [sid]

    def test_restarts_the_cookie_expiry(self, store: RecordingStore) -> None:
        client = app_client(store, rolling=True, resave=False, cookie={"max_age": HOUR})
        sid = login(client, store)
        old_expiry = backdate(store, sid, 60)
        response = client.get("/noop")
        expires = cookie_expires(response)
        assert expires is not None
        assert expires > old_expiry + timedelta(seconds=HOUR / 2)
        assert stored_expires(store, sid) > old_expiry + timedelta(seconds=HOUR / 2)

    def test_sends_a_browser_session_cookie_too(self, store: RecordingStore) -> None:
        client = app_client(store, rolling=True, resave=False)
        sid = login(client, store)
        response = client.get("/noop")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert "expires" not in attributes(header)

    def test_not_rolling_sends_no_cookie_for_unmodified_session(
        self, store: RecordingStore
    ) -> None:
        client = app_client(store, rolling=False, resave=False, cookie={"max_age": HOUR})
        login(client, store)
        response = client.get("/noop")
        assert response.headers.getlist("Set-Cookie") == []

    def test_does_not_start_an_untouched_session(self, store: RecordingStore) -> None:
        client = app_client(store, rolling=True, save_uninitialized=False)
        response = client.get("/noop")
        assert response.headers.getlist("Set-Cookie") == []
        assert store.all() == {}


# --- when the cookie is sent ---------------------------------------------------------


class TestSetCookie:
    def test_new_session_cookie_is_signed_id(self, store: RecordingStore) -> None:
        client = app_client(store)
        response = client.get("/set")
        header = session_cookie(response)
        assert header is not None
        (sid,) = store.all()
        assert cookie_value(response) == expected_cookie_value(sid)
        attrs = attributes(header)
        assert attrs["path"] == "/"
        assert "httponly" in attrs
        assert "expires" not in attrs

    def test_modified_session_with_expiry_sends_the_cookie_again(
        self, store: RecordingStore
    ) -> None:
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        client = app_client(store, {"/change": change}, resave=False, cookie={"max_age": HOUR})
        sid = login(client, store)
        old_expiry = backdate(store, sid, 60)
        response = client.get("/change")
        assert cookie_value(response) == expected_cookie_value(sid)
        expires = cookie_expires(response)
        assert expires is not None
        assert expires > old_expiry + timedelta(seconds=HOUR / 2)
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_modified_session_with_expires_option_sends_the_cookie_again(
        self, store: RecordingStore
    ) -> None:
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        expires = now() + timedelta(days=2)
        client = app_client(store, {"/change": change}, resave=False, cookie={"expires": expires})
        sid = login(client, store)
        response = client.get("/change")
        assert cookie_value(response) == expected_cookie_value(sid)
        assert cookie_expires(response) is not None

    def test_modified_browser_session_cookie_is_not_sent_again(self, store: RecordingStore) -> None:
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        client = app_client(store, {"/change": change}, resave=False)
        sid = login(client, store)
        response = client.get("/change")
        assert response.headers.getlist("Set-Cookie") == []
        assert store.operations() == ["get", "set"]
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_modified_browser_session_cookie_is_sent_when_rolling(
        self, store: RecordingStore
    ) -> None:
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        client = app_client(store, {"/change": change}, resave=False, rolling=True)
        sid = login(client, store)
        response = client.get("/change")
        assert cookie_value(response) == expected_cookie_value(sid)

    def test_unmodified_session_with_expiry_is_not_sent_again(self, store: RecordingStore) -> None:
        client = app_client(store, resave=False, cookie={"max_age": HOUR})
        login(client, store)
        response = client.get("/read")
        assert response.headers.getlist("Set-Cookie") == []

    @pytest.mark.parametrize(
        ("secure", "base_url", "sent", "flag"),
        [
            pytest.param(True, "http://localhost", False, None, id="secure-over-http"),
            pytest.param(True, "https://localhost", True, True, id="secure-over-https"),
            pytest.param("auto", "http://localhost", True, False, id="auto-over-http"),
            pytest.param("auto", "https://localhost", True, True, id="auto-over-https"),
            pytest.param(False, "https://localhost", True, False, id="plain-over-https"),
        ],
    )
    def test_secure_cookie_is_only_sent_over_https(
        self,
        store: RecordingStore,
        secure: bool | str,
        base_url: str,
        sent: bool,
        flag: bool | None,
    ) -> None:
        client = app_client(store, cookie={"secure": secure})
        response = client.get("/set", base_url=base_url)
        # The session is stored either way (express-session does the same).
        (sid,) = store.all()
        assert data_of(store.all()[sid]) == {"user": "ada"}
        header = session_cookie(response)
        if not sent:
            assert header is None
            return
        assert header is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert ("secure" in attributes(header)) is flag

    def test_auto_is_resolved_by_the_request_that_created_the_session(
        self, store: RecordingStore
    ) -> None:
        # SPEC §3: a loaded session keeps its own attributes, "auto" included.
        client = app_client(store, rolling=True, cookie={"secure": "auto", "samesite": "auto"})
        sid = login(client, store, base_url="http://localhost")
        response = client.get("/noop", base_url="https://localhost")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(response) == expected_cookie_value(sid)
        assert "secure" not in attributes(header)
        assert (attributes(header).get("samesite") or "").lower() == "lax"

    def test_secure_cookie_survives_an_http_request(self, store: RecordingStore) -> None:
        # An http request with the secure session's cookie neither sends nor clears it.
        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        client = app_client(
            store, {"/change": change}, resave=False, cookie={"secure": True, "max_age": HOUR}
        )
        sid = login(client, store, base_url="https://localhost")
        response = client.get("/change", base_url="http://localhost")
        assert response.headers.getlist("Set-Cookie") == []
        assert data_of(store.all()[sid]) == {"user": "grace"}


# --- unset ---------------------------------------------------------------------------


def _unset_by_none(session: Session, environ: dict[str, Any]) -> None:
    session["user"] = "eve"
    environ["wsgisession"] = None


def _unset_by_del(session: Session, environ: dict[str, Any]) -> None:
    session["user"] = "eve"
    del environ["wsgisession"]


UNSET_WAYS = [
    pytest.param(_unset_by_none, id="set-to-none"),
    pytest.param(_unset_by_del, id="deleted"),
]


def _no_live_cookie(response: TestResponse) -> bool:
    """No Set-Cookie gives the browser a session cookie value (an expired,
    empty one that clears it is fine)."""
    header = session_cookie(response)
    return header is None or cookie_value(response) == ""


class TestUnset:
    @pytest.mark.parametrize("unset_view", UNSET_WAYS)
    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    @pytest.mark.parametrize("rolling", [True, False], ids=["rolling", "not-rolling"])
    def test_keep_leaves_the_stored_session_as_it_was(
        self, store: RecordingStore, unset_view: View, resave: bool, rolling: bool
    ) -> None:
        client = app_client(
            store,
            {"/unset": unset_view},
            unset="keep",
            resave=resave,
            rolling=rolling,
            cookie={"max_age": HOUR},
        )
        sid = login(client, store)
        response = client.get("/unset")
        assert store.operations() == ["get"]
        assert data_of(store.all()[sid]) == {"user": "ada"}
        assert response.headers.getlist("Set-Cookie") == []
        # The browser's session is still there.
        assert client.get("/read").text == "ada"

    @pytest.mark.parametrize("unset_view", UNSET_WAYS)
    def test_default_is_keep(self, store: RecordingStore, unset_view: View) -> None:
        client = app_client(store, {"/unset": unset_view})
        sid = login(client, store)
        client.get("/unset")
        assert data_of(store.all()[sid]) == {"user": "ada"}

    @pytest.mark.parametrize("unset_view", UNSET_WAYS)
    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    def test_destroy_deletes_the_stored_session(
        self, store: RecordingStore, unset_view: View, resave: bool
    ) -> None:
        client = app_client(store, {"/unset": unset_view}, unset="destroy", resave=resave)
        sid = login(client, store)
        response = client.get("/unset")
        assert store.calls == [("get", sid), ("destroy", sid)]
        assert store.all() == {}
        assert _no_live_cookie(response)

    @pytest.mark.parametrize("unset", ["keep", "destroy"])
    def test_unset_new_session_is_never_stored(self, store: RecordingStore, unset: str) -> None:
        client = app_client(store, {"/unset": _unset_by_none}, unset=unset)
        response = client.get("/unset")
        assert store.all() == {}
        assert response.headers.getlist("Set-Cookie") == []


# --- session.save() -----------------------------------------------------------------


class TestSessionSave:
    def test_writes_the_store_at_once(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def save(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.save()
            seen["record"] = store.all().get(session.id)

        client = app_client(store, {"/save": save})
        client.get("/save")
        assert seen["record"] is not None
        assert data_of(seen["record"]) == {"user": "ada"}

    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    def test_loaded_session_saved_by_hand_is_touched_at_the_end(
        self, store: RecordingStore, resave: bool
    ) -> None:
        # reference §1.3: a manual save, unchanged afterwards: no second save, a touch.
        def change_and_save(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"
            session.save()

        client = app_client(store, {"/save": change_and_save}, resave=resave)
        sid = login(client, store)
        client.get("/save")
        assert store.operations() == ["get", "set", "touch"]
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_changes_after_a_save_are_saved_at_the_end(self, store: RecordingStore) -> None:
        def save_then_change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"
            session.save()
            session["user"] = "hedy"

        client = app_client(store, {"/save": save_then_change}, resave=False)
        sid = login(client, store)
        client.get("/save")
        assert store.operations() == ["get", "set", "set"]
        assert data_of(store.all()[sid]) == {"user": "hedy"}

    def test_unserialisable_value_is_a_type_error_naming_the_key(
        self, store: RecordingStore
    ) -> None:
        seen: dict[str, Any] = {}

        def save(session: Session, environ: dict[str, Any]) -> None:
            session["bad"] = object()
            try:
                session.save()
            except TypeError as error:
                seen["error"] = error
            del session["bad"]

        client = app_client(store, {"/save": save})
        client.get("/save")
        assert "bad" in str(seen["error"])
        # Nothing half-written.
        assert all("bad" not in record for record in store.all().values())


# --- session.reload() ---------------------------------------------------------------


class TestSessionReload:
    def test_picks_up_data_written_by_another_request(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        other: list[Client] = []

        def change(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "grace"

        def reload(session: Session, environ: dict[str, Any]) -> None:
            seen["before"] = session.get("user")
            other[0].get("/change")  # another request, same session, finishes first
            seen["still"] = session.get("user")
            session.reload()
            seen["after"] = session.get("user")

        client = app_client(store, {"/change": change, "/reload": reload}, resave=False)
        sid = login(client, store)
        other.append(with_cookie(client, sid))
        client.get("/reload")
        assert seen == {"before": "ada", "still": "ada", "after": "grace"}
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_drops_unsaved_changes(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def change_and_reload(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "eve"
            session["extra"] = 1
            session.reload()
            seen["data"] = dict(session)

        client = app_client(store, {"/reload": change_and_reload}, resave=False)
        sid = login(client, store)
        client.get("/reload")
        assert seen["data"] == {"user": "ada"}
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_changes_after_a_reload_are_saved(self, store: RecordingStore) -> None:
        def reload_and_change(session: Session, environ: dict[str, Any]) -> None:
            session.reload()
            session["user"] = "grace"

        client = app_client(store, {"/reload": reload_and_change}, resave=False)
        sid = login(client, store)
        client.get("/reload")
        assert data_of(store.all()[sid]) == {"user": "grace"}

    def test_gone_from_the_store_is_a_session_error(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def reload(session: Session, environ: dict[str, Any]) -> None:
            store.destroy(session.id)  # expired, or logged out elsewhere
            with pytest.raises(SessionError) as info:
                session.reload()
            seen["error"] = info.value

        client = app_client(store, {"/reload": reload})
        login(client, store)
        client.get("/reload")
        assert isinstance(seen["error"], SessionError)

    def test_never_stored_session_is_a_session_error(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def reload(session: Session, environ: dict[str, Any]) -> None:
            try:
                session.reload()
            except SessionError as error:
                seen["error"] = error

        client = app_client(store, {"/reload": reload}, save_uninitialized=False)
        client.get("/reload")
        assert isinstance(seen.get("error"), SessionError)


# --- session.regenerate() -------------------------------------------------------------


class TestSessionRegenerate:
    def _client(
        self, store: RecordingStore, seen: dict[str, Any], keep_data: bool = False, **options: Any
    ) -> Client:
        def regenerate(session: Session, environ: dict[str, Any]) -> None:
            seen["old_id"] = session.id
            seen["old_env_id"] = environ["wsgisession.id"]
            session.regenerate(keep_data=keep_data)
            seen["session_id"] = session.id
            seen["env_id"] = environ["wsgisession.id"]
            seen["data"] = dict(session)
            seen["same_object"] = environ["wsgisession"] is session

        return app_client(store, {"/regenerate": regenerate}, **options)

    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    @pytest.mark.parametrize("uninit", [True, False], ids=["uninit", "no-uninit"])
    def test_new_id_old_record_destroyed_data_empty(
        self, store: RecordingStore, resave: bool, uninit: bool
    ) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, resave=resave, save_uninitialized=uninit)
        old = login(client, store)
        response = client.get("/regenerate")
        new = sid_from(response)
        assert new is not None
        assert new != old
        assert cookie_value(response) == expected_cookie_value(new)
        assert store.calls == [("get", old), ("destroy", old), ("set", new)]
        assert list(store.all()) == [new]
        assert data_of(store.all()[new]) == {}
        assert seen["data"] == {}

    def test_keep_data_carries_the_data_over(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, keep_data=True, resave=False)
        old = login(client, store)
        response = client.get("/regenerate")
        new = sid_from(response)
        assert new is not None
        assert new != old
        assert list(store.all()) == [new]
        assert data_of(store.all()[new]) == {"user": "ada"}
        assert seen["data"] == {"user": "ada"}

    def test_environ_id_follows_the_new_id(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen)
        old = login(client, store)
        response = client.get("/regenerate")
        assert seen["old_env_id"] == seen["old_id"] == old
        assert seen["env_id"] == seen["session_id"] == sid_from(response)
        assert seen["env_id"] != old
        assert seen["same_object"] is True

    def test_old_cookie_no_longer_opens_the_session(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, keep_data=True)
        old = login(client, store)
        new = sid_from(client.get("/regenerate"))
        attacker = with_cookie(client, old)
        response = attacker.get("/read")
        assert response.text == "None"
        assert sid_from(response) not in (old, new)
        # The regenerated session is still the browser's.
        assert client.get("/read").text == "ada"

    def test_new_session_regenerated_is_stored_and_sent(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, save_uninitialized=False)
        response = client.get("/regenerate")
        new = sid_from(response)
        assert new == seen["session_id"]
        assert list(store.all()) == [new]

    def test_changes_after_regenerate_are_saved_once(self, store: RecordingStore) -> None:
        def log_in(session: Session, environ: dict[str, Any]) -> None:
            session.regenerate()
            session["user"] = "grace"

        client = app_client(store, {"/login": log_in}, resave=False)
        old = login(client, store)
        response = client.get("/login")
        new = sid_from(response)
        assert new is not None
        assert store.calls == [("get", old), ("destroy", old), ("set", new)]
        assert data_of(store.all()[new]) == {"user": "grace"}

    def test_saved_by_hand_after_regenerate_is_not_saved_again(self, store: RecordingStore) -> None:
        # SPEC §6: saved "when it is not yet saved in its current state"
        # (express-session would write it a second time).
        def log_in(session: Session, environ: dict[str, Any]) -> None:
            session.regenerate()
            session["user"] = "grace"
            session.save()

        client = app_client(store, {"/login": log_in}, resave=False)
        login(client, store)
        response = client.get("/login")
        new = sid_from(response)
        assert store.operations() == ["get", "destroy", "set"]
        assert data_of(store.all()[new]) == {"user": "grace"}  # type: ignore[index]

    def test_cookie_starts_afresh_from_the_options(self, store: RecordingStore) -> None:
        def shorten(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.cookie.max_age = 60

        def regenerate(session: Session, environ: dict[str, Any]) -> None:
            session.regenerate(keep_data=True)

        client = app_client(
            store, {"/short": shorten, "/regenerate": regenerate}, cookie={"max_age": HOUR}
        )
        old = login(client, store, "/short")
        assert store.all()[old]["cookie"]["originalMaxAge"] == 60_000
        new = sid_from(client.get("/regenerate"))
        assert new is not None
        assert store.all()[new]["cookie"]["originalMaxAge"] == HOUR * 1000


# --- session.destroy() ------------------------------------------------------------------


class TestSessionDestroy:
    def _client(self, store: RecordingStore, seen: dict[str, Any], **options: Any) -> Client:
        def destroy(session: Session, environ: dict[str, Any]) -> None:
            seen["id"] = session.id
            session["user"] = "eve"
            session.destroy()
            seen["session"] = environ["wsgisession"]
            seen["get_session"] = get_session(environ)
            seen["env_id"] = environ["wsgisession.id"]
            # The detached object may still be used; it saves nothing.
            session["after"] = True

        return app_client(store, {"/logout": destroy, "/app/logout": destroy}, **options)

    @pytest.mark.parametrize("resave", [True, False], ids=["resave", "no-resave"])
    @pytest.mark.parametrize("unset", ["keep", "destroy"])
    def test_removes_the_record(self, store: RecordingStore, resave: bool, unset: str) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, resave=resave, unset=unset)
        sid = login(client, store)
        client.get("/logout")
        assert store.all() == {}
        assert store.calls[:2] == [("get", sid), ("destroy", sid)]
        operations = store.operations()
        assert "set" not in operations
        assert "touch" not in operations

    def test_environ_session_is_none_and_id_stays(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen)
        sid = login(client, store)
        client.get("/logout")
        assert seen["session"] is None
        assert seen["get_session"] is None
        assert seen["env_id"] == seen["id"] == sid

    @pytest.mark.parametrize(
        ("cookie", "path", "base_url"),
        [
            pytest.param(None, "/logout", "http://localhost", id="default"),
            pytest.param({"path": "/app"}, "/app/logout", "http://localhost", id="path"),
            pytest.param({"domain": "example.com"}, "/logout", "http://example.com", id="domain"),
            pytest.param({"max_age": HOUR}, "/logout", "http://localhost", id="max-age"),
        ],
    )
    def test_clears_the_browser_cookie(
        self, store: RecordingStore, cookie: dict[str, Any] | None, path: str, base_url: str
    ) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, cookie=cookie)
        prefix = "/app" if path.startswith("/app") else ""
        response = client.get(prefix + "/set", base_url=base_url)
        set_header = session_cookie(response)
        assert set_header is not None
        response = client.get(path, base_url=base_url)
        header = session_cookie(response)
        assert header is not None
        assert header.startswith("connect.sid=;")
        attrs = attributes(header)
        expires = attrs.get("expires")
        assert expires is not None
        expired = parse_date(expires)
        assert expired is not None
        assert expired < now()
        assert attrs["path"] == attributes(set_header)["path"]
        assert attrs.get("domain") == attributes(set_header).get("domain")
        # The browser forgot it: the next request starts a new session.
        domain = base_url.split("//", 1)[1]
        assert client.get_cookie("connect.sid", domain=domain, path=prefix or "/") is None

    def test_new_session_without_cookie_sends_nothing(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen, save_uninitialized=True)
        response = client.get("/logout")
        assert response.headers.getlist("Set-Cookie") == []
        assert store.all() == {}

    def test_next_request_gets_a_new_session(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen)
        old = login(client, store)
        client.get("/logout")
        response = client.get("/read")
        assert response.text == "None"
        assert sid_from(response) != old

    def test_old_cookie_no_longer_opens_the_session(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}
        client = self._client(store, seen)
        old = login(client, store)
        stolen = with_cookie(client, old)
        client.get("/logout")
        response = stolen.get("/read")
        assert response.text == "None"
        assert sid_from(response) != old

    @pytest.mark.parametrize(
        "method",
        [
            pytest.param(lambda s: s.save(), id="save"),
            pytest.param(lambda s: s.reload(), id="reload"),
            pytest.param(lambda s: s.regenerate(), id="regenerate"),
            pytest.param(lambda s: s.regenerate(keep_data=True), id="regenerate-keep-data"),
        ],
    )
    def test_methods_on_a_destroyed_session_raise(
        self, store: RecordingStore, method: Callable[[Session], None]
    ) -> None:
        seen: dict[str, Any] = {}

        def destroy_then(session: Session, environ: dict[str, Any]) -> None:
            session.destroy()
            with pytest.raises(SessionError):
                method(session)
            seen["raised"] = True

        client = app_client(store, {"/logout": destroy_then})
        login(client, store)
        client.get("/logout")
        assert seen == {"raised": True}
        assert store.all() == {}


# --- session.touch() and the cookie's lifetime --------------------------------------------


class TestSessionTouch:
    def test_touch_restores_max_age(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def touch(session: Session, environ: dict[str, Any]) -> None:
            seen["before"] = session.cookie.max_age
            session.touch()
            seen["after"] = session.cookie.max_age
            seen["original"] = session.cookie.original_max_age

        client = app_client(store, {"/touch": touch}, resave=False, cookie={"max_age": HOUR})
        sid = login(client, store)
        backdate(store, sid, 60)
        client.get("/touch")
        assert 0 < seen["before"] <= 60
        assert HOUR - 60 < seen["after"] <= HOUR
        assert seen["original"] == HOUR

    def test_touch_is_not_a_modification(self, store: RecordingStore) -> None:
        def touch(session: Session, environ: dict[str, Any]) -> None:
            session.touch()

        client = app_client(store, {"/touch": touch}, resave=False, cookie={"max_age": HOUR})
        login(client, store)
        response = client.get("/touch")
        assert store.operations() == ["get", "touch"]
        assert response.headers.getlist("Set-Cookie") == []

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(60, id="int"),
            pytest.param(60.0, id="float"),
            pytest.param(timedelta(minutes=1), id="timedelta"),
        ],
    )
    def test_assigning_max_age_sets_expiry_and_lifetime(
        self, store: RecordingStore, value: Any
    ) -> None:
        seen: dict[str, Any] = {}

        def shorten(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.cookie.max_age = value
            seen["max_age"] = session.cookie.max_age
            seen["original"] = session.cookie.original_max_age
            seen["expires"] = session.cookie.expires

        client = app_client(store, {"/short": shorten}, cookie={"max_age": HOUR})
        start = now()
        response = client.get("/short")
        sid = sid_from(response)
        assert sid is not None
        assert 0 < seen["max_age"] <= 60
        assert seen["original"] == 60
        assert start < seen["expires"] <= now() + timedelta(seconds=60)
        record = store.all()[sid]
        assert record["cookie"]["originalMaxAge"] == 60_000
        assert stored_expires(store, sid) < start + timedelta(seconds=120)
        expires = cookie_expires(response)
        assert expires is not None
        assert expires < start + timedelta(seconds=120)

    def test_assigned_max_age_is_kept_by_later_requests(self, store: RecordingStore) -> None:
        def shorten(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.cookie.max_age = 60

        seen: dict[str, Any] = {}

        def inspect(session: Session, environ: dict[str, Any]) -> None:
            seen["original"] = session.cookie.original_max_age

        client = app_client(
            store, {"/short": shorten, "/inspect": inspect}, resave=False, cookie={"max_age": HOUR}
        )
        sid = login(client, store, "/short")
        client.get("/inspect")
        assert seen["original"] == 60
        assert store.operations() == ["get", "touch"]
        assert store.all()[sid]["cookie"]["originalMaxAge"] == 60_000
        assert stored_expires(store, sid) < now() + timedelta(seconds=120)

    def test_loaded_session_keeps_its_own_lifetime(self, store: RecordingStore) -> None:
        # Options changed since the session was created (a redeploy): the
        # stored cookie, not the new option, decides its renewed expiry.
        first = app_client(store, cookie={"max_age": HOUR})
        sid = login(first, store)
        backdate(store, sid, 60)
        later = app_client(store, resave=False, rolling=True, cookie={"max_age": 60})
        later.set_cookie("connect.sid", expected_cookie_value(sid))
        response = later.get("/noop")
        assert store.operations() == ["get", "touch"]
        assert store.all()[sid]["cookie"]["originalMaxAge"] == HOUR * 1000
        assert stored_expires(store, sid) > now() + timedelta(seconds=HOUR / 2)
        expires = cookie_expires(response)
        assert expires is not None
        assert expires > now() + timedelta(seconds=HOUR / 2)

    def test_assigning_max_age_on_loaded_session_is_stored_by_touch(
        self, store: RecordingStore
    ) -> None:
        def shorten(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.max_age = 60

        client = app_client(store, {"/short": shorten}, resave=False, cookie={"max_age": HOUR})
        sid = login(client, store)
        client.get("/short")
        assert store.operations() == ["get", "touch"]
        assert store.all()[sid]["cookie"]["originalMaxAge"] == 60_000
        assert data_of(store.all()[sid]) == {"user": "ada"}

    def test_assigning_max_age_none_makes_a_browser_session_cookie(
        self, store: RecordingStore
    ) -> None:
        def unlimited(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.cookie.max_age = None

        client = app_client(store, {"/unlimited": unlimited}, cookie={"max_age": HOUR})
        response = client.get("/unlimited")
        sid = sid_from(response)
        assert sid is not None
        header = session_cookie(response)
        assert header is not None
        assert "expires" not in attributes(header)
        cookie = store.all()[sid]["cookie"]
        assert cookie["expires"] is None
        assert cookie["originalMaxAge"] is None

    def test_assigning_expires(self, store: RecordingStore) -> None:
        target = now() + timedelta(days=2)

        def extend(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            session.cookie.expires = target

        client = app_client(store, {"/extend": extend}, cookie={"max_age": HOUR})
        response = client.get("/extend")
        sid = sid_from(response)
        assert sid is not None
        cookie = store.all()[sid]["cookie"]
        assert abs(cookie["originalMaxAge"] - 2 * 86400 * 1000) < 60_000
        assert abs(stored_expires(store, sid) - target) < timedelta(seconds=60)
        expires = cookie_expires(response)
        assert expires is not None
        assert abs(expires - target) < timedelta(seconds=60)


# --- what counts as a modification ------------------------------------------------------

LOADED: dict[str, Any] = {"n": 1, "cart": ["apple"], "user": {"name": "ada"}}


def _append(s: Session) -> None:
    s["cart"].append("pear")


def _nested_set(s: Session) -> None:
    s["user"]["name"] = "grace"


def _nested_cookie_key(s: Session) -> None:
    s["user"]["cookie"] = "chocolate"


def _new_key(s: Session) -> None:
    s["theme"] = "dark"


def _overwrite(s: Session) -> None:
    s["n"] = 2


def _overwrite_same(s: Session) -> None:
    s["n"] = 1
    s["cart"] = ["apple"]


def _delete(s: Session) -> None:
    del s["n"]


def _delete_readd_last(s: Session) -> None:
    value = s.pop("user")
    s["user"] = value


def _delete_readd_other_value(s: Session) -> None:
    del s["n"]
    s["n"] = 5


def _delete_readd_reorders(s: Session) -> None:
    value = s.pop("n")
    s["n"] = value


def _add_and_remove(s: Session) -> None:
    s["theme"] = "dark"
    del s["theme"]


def _change_and_revert(s: Session) -> None:
    s["cart"].append("pear")
    s["cart"].pop()


def _clear(s: Session) -> None:
    s.clear()


def _update(s: Session) -> None:
    s.update({"n": 3})


def _read_everything(s: Session) -> None:
    assert dict(s) == LOADED
    assert len(s) == 3
    assert "n" in s
    assert list(s) == ["n", "cart", "user"]
    _ = s.id, s.cookie.max_age


def _cookie_change(s: Session) -> None:
    s.cookie.max_age = 7200
    s.cookie.path = "/"


def _replace_list_equal(s: Session) -> None:
    s["cart"] = list(s["cart"])


Mutation = Callable[[Session], None]
Outcome = tuple[dict[str, Any], list[str], TestResponse, str]


class TestModificationDetection:
    @pytest.fixture
    def run(self, store: RecordingStore) -> Callable[[Mutation], Outcome]:
        """Store a session holding LOADED, then ``mutate`` it in a request
        with resave=False. Returns the stored record afterwards, the store
        operations of that request, its response and the session id."""

        def run(mutate: Mutation) -> Outcome:
            def seed(session: Session, environ: dict[str, Any]) -> None:
                session.update(LOADED)

            def change(session: Session, environ: dict[str, Any]) -> None:
                mutate(session)

            client = app_client(
                store,
                {"/seed": seed, "/change": change},
                resave=False,
                save_uninitialized=False,
                cookie={"max_age": HOUR},
            )
            sid = login(client, store, "/seed")
            response = client.get("/change")
            return store.all()[sid], store.operations(), response, sid

        return run

    @pytest.mark.parametrize(
        ("mutate", "expected"),
        [
            pytest.param(_append, {**LOADED, "cart": ["apple", "pear"]}, id="nested-append"),
            pytest.param(_nested_set, {**LOADED, "user": {"name": "grace"}}, id="nested-set"),
            pytest.param(
                _nested_cookie_key,
                {**LOADED, "user": {"name": "ada", "cookie": "chocolate"}},
                id="nested-key-named-cookie",
            ),
            pytest.param(_new_key, {**LOADED, "theme": "dark"}, id="new-key"),
            pytest.param(_overwrite, {**LOADED, "n": 2}, id="overwrite"),
            pytest.param(_update, {**LOADED, "n": 3}, id="update"),
            pytest.param(_delete, {"cart": ["apple"], "user": {"name": "ada"}}, id="delete"),
            pytest.param(_delete_readd_other_value, {**LOADED, "n": 5}, id="delete-readd-new"),
            # express-session hashes the JSON, so key order matters (reference §1.3).
            pytest.param(_delete_readd_reorders, LOADED, id="delete-readd-reorders"),
            pytest.param(_clear, {}, id="clear"),
        ],
    )
    def test_modified_is_saved(
        self, run: Callable[[Mutation], Outcome], mutate: Mutation, expected: dict[str, Any]
    ) -> None:
        record, operations, response, sid = run(mutate)
        assert operations == ["get", "set"]
        assert data_of(record) == expected
        # An expiring cookie is renewed on modification.
        assert cookie_value(response) == expected_cookie_value(sid)

    @pytest.mark.parametrize(
        "mutate",
        [
            pytest.param(_read_everything, id="read-only"),
            pytest.param(_overwrite_same, id="overwrite-same-value"),
            pytest.param(_delete_readd_last, id="delete-readd-last-key"),
            pytest.param(_add_and_remove, id="add-then-remove"),
            pytest.param(_change_and_revert, id="nested-change-reverted"),
            pytest.param(_replace_list_equal, id="equal-copy"),
            pytest.param(_cookie_change, id="cookie-only"),
        ],
    )
    def test_unmodified_is_touched(
        self, run: Callable[[Mutation], Outcome], mutate: Mutation
    ) -> None:
        record, operations, response, _ = run(mutate)
        assert operations == ["get", "touch"]
        assert data_of(record) == LOADED
        assert response.headers.getlist("Set-Cookie") == []

    def test_delete_readd_reorders_the_stored_keys(
        self, run: Callable[[Mutation], Outcome]
    ) -> None:
        record, operations, _, _ = run(_delete_readd_reorders)
        assert operations == ["get", "set"]
        assert list(data_of(record)) == ["cart", "user", "n"]

    def test_nested_mutation_of_new_session_is_saved(self, store: RecordingStore) -> None:
        def add(session: Session, environ: dict[str, Any]) -> None:
            session.setdefault("cart", []).append("apple")

        client = app_client(store, {"/add": add}, resave=False, save_uninitialized=False)
        sid = sid_from(client.get("/add"))
        assert sid is not None
        store.operations()
        client.get("/add")
        assert store.operations() == ["get", "set"]
        assert data_of(store.all()[sid]) == {"cart": ["apple", "apple"]}

    def test_reserved_cookie_key(self, store: RecordingStore) -> None:
        seen: dict[str, Any] = {}

        def set_cookie_key(session: Session, environ: dict[str, Any]) -> None:
            with pytest.raises(ValueError, match="cookie"):
                session["cookie"] = {"path": "/evil"}
            seen["raised"] = True

        client = app_client(store, {"/evil": set_cookie_key}, save_uninitialized=False)
        response = client.get("/evil")
        assert seen == {"raised": True}
        assert store.all() == {}
        assert response.headers.getlist("Set-Cookie") == []


# --- unknown, expired and forged session ids ---------------------------------------------


class TestUnknownSession:
    def test_never_stored_id_gets_a_new_session(self, store: RecordingStore) -> None:
        client = app_client(store)
        client.set_cookie("connect.sid", expected_cookie_value("never-stored"))
        response = client.get("/read")
        assert response.text == "None"
        sid = sid_from(response)
        assert sid is not None
        assert sid != "never-stored"
        assert store.calls == [("get", "never-stored"), ("set", sid)]
        assert list(store.all()) == [sid]

    def test_expired_id_gets_a_new_session(self, store: RecordingStore) -> None:
        client = app_client(store, cookie={"max_age": HOUR})
        old = login(client, store)
        record = store.all()[old]
        record["cookie"]["expires"] = js_date(now() - timedelta(seconds=1))
        store.set(old, record)
        store.operations()
        response = client.get("/read")
        assert response.text == "None"
        new = sid_from(response)
        assert new is not None
        assert new != old
        assert list(store.all()) == [new]

    @pytest.mark.parametrize("rolling", [True, False], ids=["rolling", "not-rolling"])
    def test_never_stored_id_without_save_uninitialized(
        self, store: RecordingStore, rolling: bool
    ) -> None:
        # A new session, though the cookie carried an id: not stored, not sent.
        client = app_client(store, save_uninitialized=False, rolling=rolling)
        client.set_cookie("connect.sid", expected_cookie_value("never-stored"))
        response = client.get("/noop")
        assert response.headers.getlist("Set-Cookie") == []
        assert store.all() == {}

    def test_never_stored_id_modified_is_stored_under_a_new_id(self, store: RecordingStore) -> None:
        client = app_client(store, save_uninitialized=False)
        client.set_cookie("connect.sid", expected_cookie_value("chosen-by-attacker"))
        response = client.get("/set")
        sid = sid_from(response)
        assert sid is not None
        assert sid != "chosen-by-attacker"
        assert list(store.all()) == [sid]
        assert data_of(store.all()[sid]) == {"user": "ada"}

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("{sid}", id="unsigned"),
            pytest.param("s%3A{sid}.forged", id="bad-signature"),
            pytest.param("{signed}x", id="tampered"),
        ],
    )
    def test_invalid_cookie_for_a_stored_id_gets_a_new_session(
        self, store: RecordingStore, value: str
    ) -> None:
        client = app_client(store)
        old = login(client, store)
        other = Client(client.application)
        other.set_cookie("connect.sid", value.format(sid=old, signed=expected_cookie_value(old)))
        response = other.get("/read")
        assert response.text == "None"
        new = sid_from(response)
        assert new is not None
        assert new != old
        assert data_of(store.all()[old]) == {"user": "ada"}

    def test_environ_id_is_the_session_id(self, store: RecordingStore) -> None:
        seen: list[tuple[str | None, str, str]] = []

        def record(session: Session, environ: dict[str, Any]) -> None:
            before = environ.get("wsgisession.id")
            sid = session.id
            seen.append((before, environ["wsgisession.id"], sid))

        client = app_client(store, {"/record": record})
        first = sid_from(client.get("/record"))
        client.get("/record")
        # Set before the application uses the session: the new session's id,
        # or the cookie's.
        assert seen == [(first, first, first), (first, first, first)]


class TestRegenerateFailure:
    def test_a_failing_genid_leaves_the_old_session_in_the_store(
        self, store: RecordingStore
    ) -> None:
        ids = iter(["first-id"])

        def genid(environ: dict[str, Any]) -> str:
            return next(ids)  # the second call raises StopIteration

        def view(session: Session, environ: dict[str, Any]) -> str:
            if environ["PATH_INFO"] == "/login":
                try:
                    session.regenerate()
                except StopIteration:
                    return "kept " + session.id
            session["n"] = 1
            return session.id

        client = make_client(view, store=store, genid=genid)
        assert client.get("/").text == "first-id"
        assert client.get("/login").text == "kept first-id"
        assert store.get("first-id") is not None


class TestVaryForAnUnusedSession:
    def test_vary_cookie_when_the_cookie_carried_a_session_the_app_did_not_use(
        self, store: RecordingStore
    ) -> None:
        # The application may have read environ["wsgisession.id"], the cookie's id.
        client = make_client(
            lambda session, environ: session.setdefault("n", 1),
            store=store,
            resave=False,
            save_uninitialized=False,
        )
        client.get("/")
        untouched = Client(
            make_middleware(session_app(None), store=store, resave=False, save_uninitialized=False)
        )
        untouched.set_cookie("connect.sid", client.get_cookie("connect.sid").value)  # type: ignore[union-attr]
        store.operations()
        assert untouched.get("/").headers.get("Vary") == "Cookie"
        assert store.operations() == ["refresh"]

    def test_vary_cookie_once_the_app_reads_the_session(self, store: RecordingStore) -> None:
        client = make_client(lambda session, environ: session.setdefault("n", 1), store=store)
        client.get("/")
        reader = Client(make_middleware(session_app(lambda s, e: str(s.get("n"))), store=store))
        reader.set_cookie("connect.sid", client.get_cookie("connect.sid").value)  # type: ignore[union-attr]
        response = reader.get("/")
        assert response.text == "1"
        assert response.headers.get("Vary") == "Cookie"

    def test_no_vary_for_a_visitor_without_cookie_whose_session_is_unused(self) -> None:
        client = make_client(None, save_uninitialized=False)
        assert client.get("/").headers.get("Vary") is None


class TestNewAndModified:
    def test_flags_through_a_request(self, store: RecordingStore) -> None:
        seen: list[tuple[bool, bool]] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append((session.new, session.modified))
            if environ["PATH_INFO"] == "/write":
                session["n"] = session.get("n", 0) + 1
                seen.append((session.new, session.modified))
            if environ["PATH_INFO"] == "/regenerate":
                session.regenerate(keep_data=True)
                seen.append((session.new, session.modified))

        client = make_client(view, store=store, resave=False, save_uninitialized=False)
        client.get("/write")
        client.get("/read")
        client.get("/write")
        client.get("/regenerate")
        assert seen == [
            (True, False),
            (True, True),
            (False, False),
            (False, False),
            (False, True),
            (False, False),
            (True, True),
        ]
