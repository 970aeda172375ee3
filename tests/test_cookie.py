"""Cookie options and attributes (SPEC §3, §4), the cookie's stored JSON
(SPEC §5), the :class:`SessionCookie` API, and :mod:`wsgisession.record`.

Set-Cookie attributes are compared as a set: we render through werkzeug's
``dump_cookie``, whose attribute order differs from express-session's.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.http import parse_date
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Response

from tests.conftest import (
    RecordingStore,
    expected_cookie_value,
    make_client,
    make_middleware,
    session_app,
    session_cookie,
    set_cookies,
    sid_from,
)
from wsgisession import CookieOptions, MemoryStore, Session, SessionCookie, StoreError
from wsgisession.cookie import path_matches
from wsgisession.record import format_js_date, is_expired, parse_js_date, record_expiry

UTC = timezone.utc
HTTPS = {"base_url": "https://localhost/"}
JS_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
HTTP_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")
# An instant half a second past a whole second, so the few microseconds the
# end-of-request touch adds never move the rendered (truncated) Expires.
Y2030 = datetime(2030, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
Y2030_HTTP = "Tue, 01 Jan 2030 00:00:00 GMT"

DEFAULT_COOKIE_JSON = {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"}


# Helpers.


@pytest.fixture
def local_time_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process's local time zone at UTC+05:30, so that a naive
    datetime read as local time (rather than UTC) shows."""
    monkeypatch.setenv("TZ", "XYZ-05:30")
    time.tzset()
    assert datetime(2030, 1, 1).astimezone(UTC).hour == 18
    yield
    monkeypatch.undo()
    time.tzset()


def client_for(view: Any = None, **options: Any) -> Client:
    """A client that sends only the Cookie headers a test gives it."""
    options.setdefault("genid", lambda environ: "abc")
    return Client(make_middleware(session_app(view), **options), use_cookies=False)


def with_cookie(sid: str = "abc", **request: Any) -> dict[str, Any]:
    """Request arguments carrying the signed cookie for ``sid``."""
    overrides = request.pop("environ_overrides", {})
    overrides["HTTP_COOKIE"] = "connect.sid=" + expected_cookie_value(sid)
    return {"environ_overrides": overrides, **request}


def the_cookie(response: TestResponse) -> str:
    header = session_cookie(response)
    assert header is not None, f"no session cookie in {set_cookies(response)!r}"
    return header


def attribute_set(header: str) -> set[str]:
    """The attributes of a Set-Cookie header as rendered, e.g. ``{"Path=/", "HttpOnly"}``."""
    return set(header.split("; ")[1:])


def attributes(header: str) -> dict[str, str | None]:
    """The attributes of a Set-Cookie header by lower-cased name."""
    result: dict[str, str | None] = {}
    for part in header.split("; ")[1:]:
        name, sep, value = part.partition("=")
        result[name.lower()] = value if sep else None
    return result


def expires_of(header: str) -> datetime:
    value = attributes(header)["expires"]
    assert value is not None
    assert HTTP_DATE.fullmatch(value), value
    parsed = parse_date(value)
    assert parsed is not None
    return parsed


def assert_about(value: datetime, low: datetime, high: datetime) -> None:
    """``value`` lies in ``[low, high]``, with a second's slack for truncation."""
    assert low - timedelta(seconds=1) <= value <= high + timedelta(seconds=1), (value, low, high)


def timed(request: Callable[[], TestResponse]) -> tuple[TestResponse, datetime, datetime]:
    before = datetime.now(UTC)
    response = request()
    return response, before, datetime.now(UTC)


def js_date(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored_cookie(store: RecordingStore, sid: str = "abc") -> dict[str, Any]:
    record = store.get(sid)
    assert record is not None, f"session {sid!r} is not in the store"
    cookie = record["cookie"]
    assert isinstance(cookie, dict)
    return cookie


def presence_middleware(seen: list[Any], **options: Any) -> Any:
    """A middleware over an app noting ``environ.get("wsgisession")``."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ.get("wsgisession"))
        return Response("x")(environ, start_response)

    return make_middleware(app, **options)


def express_record(**cookie: Any) -> dict[str, Any]:
    """A record as express-session writes it, with a cookie an hour from now."""
    base: dict[str, Any] = {
        "originalMaxAge": 3600000,
        "expires": js_date(datetime.now(UTC) + timedelta(hours=1)),
        "httpOnly": True,
        "path": "/",
    }
    base.update(cookie)
    return {"cookie": base, "views": 2}


# Path.


PATH_TABLE = [
    pytest.param("/", "/", True, id="root-root"),
    pytest.param("/", "/anything/at/all", True, id="root-deep"),
    pytest.param("/foo", "/foo", True, id="equal"),
    pytest.param("/foo", "/foo/", True, id="followed-by-slash"),
    pytest.param("/foo", "/foo/bar", True, id="below"),
    pytest.param("/foo", "/foo/bar/baz", True, id="deep-below"),
    pytest.param("/foo", "/foobar", False, id="not-a-segment-prefix"),
    pytest.param("/foo", "/foo.html", False, id="dot-suffix"),
    pytest.param("/foo", "/fo", False, id="shorter"),
    pytest.param("/foo", "/", False, id="root-request"),
    pytest.param("/foo", "/bar/foo", False, id="elsewhere"),
    pytest.param("/foo", "/FOO", False, id="case-sensitive"),
    pytest.param("/foo/", "/foo/", True, id="trailing-equal"),
    pytest.param("/foo/", "/foo/bar", True, id="trailing-below"),
    pytest.param("/foo/", "/foo", False, id="trailing-missing"),
    pytest.param("/foo/", "/foobar", False, id="trailing-not-prefix"),
    pytest.param("/foo/bar", "/foo/bar/baz", True, id="two-segments-below"),
    pytest.param("/foo/bar", "/foo/barbaz", False, id="two-segments-not-prefix"),
    pytest.param("/foo/bar", "/foo", False, id="two-segments-parent"),
]


class TestPath:
    def test_default_path_is_root(self) -> None:
        header = the_cookie(client_for().get("/some/page"))
        assert "Path=/" in attribute_set(header)

    def test_custom_path_in_the_cookie(self) -> None:
        header = the_cookie(client_for(cookie={"path": "/app"}).get("/app/page"))
        assert "Path=/app" in attribute_set(header)
        assert "Path=/" not in attribute_set(header)

    @pytest.mark.parametrize(("cookie_path", "request_path", "matches"), PATH_TABLE)
    def test_request_gets_a_session_when_the_path_matches(
        self, cookie_path: str, request_path: str, matches: bool
    ) -> None:
        seen: list[Any] = []
        store = RecordingStore()
        middleware = presence_middleware(
            seen, cookie={"path": cookie_path}, store=store, genid=lambda environ: "abc"
        )
        response = Client(middleware, use_cookies=False).get(request_path)
        assert response.status_code == 200
        assert len(seen) == 1
        if matches:
            assert isinstance(seen[0], Session)
            assert f"Path={cookie_path}" in attribute_set(the_cookie(response))
        else:
            assert seen[0] is None
            assert set_cookies(response) == []
            assert store.calls == []

    def test_no_session_outside_the_path_even_with_a_valid_cookie(self) -> None:
        seen: list[Any] = []
        store = RecordingStore()
        store.set("abc", express_record(path="/foo"))
        store.calls.clear()
        middleware = presence_middleware(seen, cookie={"path": "/foo"}, store=store)
        response = Client(middleware, use_cookies=False).get("/foobar", **with_cookie())
        assert seen == [None]
        assert set_cookies(response) == []
        assert store.calls == []

    @pytest.mark.parametrize(("cookie_path", "request_path", "matches"), PATH_TABLE)
    def test_path_matches(self, cookie_path: str, request_path: str, matches: bool) -> None:
        assert path_matches(cookie_path, request_path) is matches

    @pytest.mark.parametrize(
        ("cookie_path", "script_name", "path_info", "matches"),
        [
            pytest.param("/foo/bar", "/foo", "/bar", True, id="joined-matches"),
            pytest.param("/foo/bar", "/foo", "/bar/baz", True, id="joined-below"),
            pytest.param("/foo", "/foo", "", True, id="mount-point-itself"),
            pytest.param("/foo", "/foo", "/", True, id="mount-point-slash"),
            pytest.param("/foo/bar", "/foo", "/foo/bar", False, id="path-info-alone"),
            pytest.param("/bar", "/foo", "/bar", False, id="script-name-ignored"),
            pytest.param("/foo", "/foobar", "/", False, id="mount-not-a-segment"),
            pytest.param("/", "", "", True, id="empty-is-root"),
        ],
    )
    def test_script_name_and_path_info_are_joined(
        self, cookie_path: str, script_name: str, path_info: str, matches: bool
    ) -> None:
        seen: list[Any] = []
        middleware = presence_middleware(seen, cookie={"path": cookie_path})
        Client(middleware, use_cookies=False).get(
            "/", environ_overrides={"SCRIPT_NAME": script_name, "PATH_INFO": path_info}
        )
        assert len(seen) == 1
        assert isinstance(seen[0], Session) is matches


# Domain and HttpOnly.


class TestDomain:
    def test_no_domain_by_default(self) -> None:
        assert "domain" not in attributes(the_cookie(client_for().get("/")))

    @pytest.mark.parametrize("domain", ["example.com", "sub.example.com", "localhost"])
    def test_domain(self, domain: str) -> None:
        header = the_cookie(client_for(cookie={"domain": domain}).get("/"))
        assert f"Domain={domain}" in attribute_set(header)


class TestHttpOnly:
    @pytest.mark.parametrize(
        ("options", "expected"),
        [
            pytest.param(None, True, id="default"),
            pytest.param({"httponly": True}, True, id="true"),
            pytest.param({"httponly": False}, False, id="false"),
        ],
    )
    def test_httponly(self, options: dict[str, Any] | None, expected: bool) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(cookie=options, store=store).get("/"))
        assert ("HttpOnly" in attribute_set(header)) is expected
        assert stored_cookie(store)["httpOnly"] is expected


# Secure and the proxy option.


class TestSecure:
    def test_not_secure_by_default_even_over_https(self) -> None:
        header = the_cookie(client_for().get("/", **HTTPS))
        assert "secure" not in attributes(header)

    def test_secure_false(self) -> None:
        header = the_cookie(client_for(cookie={"secure": False}).get("/", **HTTPS))
        assert "secure" not in attributes(header)

    def test_secure_true_over_https(self) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(cookie={"secure": True}, store=store).get("/", **HTTPS))
        assert "Secure" in attribute_set(header)
        assert stored_cookie(store)["secure"] is True

    def test_secure_cookie_never_sent_over_http_but_the_session_is_stored(self) -> None:
        store = RecordingStore()
        response = client_for(cookie={"secure": True}, store=store).get("/")
        assert response.status_code == 200
        assert set_cookies(response) == []
        assert ("set", "abc") in store.calls
        assert stored_cookie(store)["secure"] is True

    def test_modified_secure_session_over_http_is_stored_without_a_cookie(self) -> None:
        store = RecordingStore()
        client = client_for(
            lambda session, environ: session.update(user="alice"),
            cookie={"secure": True},
            store=store,
            save_uninitialized=False,
        )
        response = client.get("/")
        assert set_cookies(response) == []
        record = store.get("abc")
        assert record is not None
        assert record["user"] == "alice"

    def test_loaded_secure_session_over_http_is_used_and_saved_but_not_sent(self) -> None:
        store = RecordingStore()
        store.set("abc", express_record(secure=True))
        seen: list[int] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append(session["views"])
            session["views"] += 1

        response = client_for(view, store=store, rolling=True).get("/", **with_cookie())
        assert seen == [2]
        assert set_cookies(response) == []
        record = store.get("abc")
        assert record is not None
        assert record["views"] == 3

    def test_auto_over_http_sends_a_cookie_without_secure(self) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(cookie={"secure": "auto"}, store=store).get("/"))
        assert "secure" not in attributes(header)
        assert not stored_cookie(store).get("secure", False)

    def test_auto_over_https_sends_a_secure_cookie(self) -> None:
        store = RecordingStore()
        client = client_for(cookie={"secure": "auto"}, store=store)
        header = the_cookie(client.get("/", **HTTPS))
        assert "Secure" in attribute_set(header)
        assert stored_cookie(store)["secure"] is True

    @pytest.mark.parametrize(
        ("proxy", "scheme", "forwarded", "secure"),
        [
            pytest.param(None, "http", None, False, id="none-http"),
            pytest.param(None, "https", None, True, id="none-https"),
            pytest.param(None, "http", "https", False, id="none-ignores-header"),
            pytest.param(True, "http", "https", True, id="true-https"),
            pytest.param(True, "http", "https,http", True, id="true-first-of-list"),
            pytest.param(True, "http", "https, http", True, id="true-first-of-spaced-list"),
            pytest.param(True, "http", "http,https", False, id="true-first-is-http"),
            pytest.param(True, "http", " HTTPS ", True, id="true-case-and-space"),
            pytest.param(True, "http", "http", False, id="true-http"),
            pytest.param(True, "http", None, False, id="true-no-header"),
            pytest.param(True, "http", "", False, id="true-empty-header"),
            pytest.param(True, "https", None, True, id="true-https-connection"),
            pytest.param(False, "https", None, True, id="false-https-connection"),
            pytest.param(False, "http", "https", False, id="false-ignores-header"),
        ],
    )
    def test_proxy(
        self, proxy: bool | None, scheme: str, forwarded: str | None, secure: bool
    ) -> None:
        headers = {} if forwarded is None else {"X-Forwarded-Proto": forwarded}
        client = client_for(cookie={"secure": "auto"}, proxy=proxy)
        response = client.get("/", base_url=f"{scheme}://localhost/", headers=headers)
        assert ("Secure" in attribute_set(the_cookie(response))) is secure

    @pytest.mark.parametrize(
        ("proxy", "scheme", "forwarded", "secure"),
        [
            pytest.param(None, "http", "https", True, id="none-trusts-proxyfix"),
            pytest.param(True, "http", "https", True, id="true-trusts-proxyfix"),
            pytest.param(False, "http", "https", False, id="false-uses-original-scheme"),
            pytest.param(None, "https", "http", False, id="none-rewritten-to-http"),
            pytest.param(False, "https", "http", True, id="false-original-https"),
        ],
    )
    def test_behind_werkzeug_proxy_fix(
        self, proxy: bool | None, scheme: str, forwarded: str, secure: bool
    ) -> None:
        middleware = make_middleware(
            session_app(), cookie={"secure": "auto"}, proxy=proxy, genid=lambda environ: "abc"
        )
        client = Client(ProxyFix(middleware, x_proto=1), use_cookies=False)
        response = client.get(
            "/", base_url=f"{scheme}://localhost/", headers={"X-Forwarded-Proto": forwarded}
        )
        assert ("Secure" in attribute_set(the_cookie(response))) is secure

    def test_proxy_true_secure_cookie_sent_behind_a_tls_proxy(self) -> None:
        client = client_for(cookie={"secure": True}, proxy=True)
        response = client.get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in attribute_set(the_cookie(response))

    def test_proxy_none_secure_cookie_not_sent_on_forwarded_header_alone(self) -> None:
        client = client_for(cookie={"secure": True})
        response = client.get("/", headers={"X-Forwarded-Proto": "https"})
        assert set_cookies(response) == []


# Expiry: max_age and expires.


class TestMaxAge:
    def test_no_expires_by_default(self) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(store=store).get("/"))
        assert "expires" not in attributes(header)
        cookie = stored_cookie(store)
        assert cookie["originalMaxAge"] is None
        assert cookie["expires"] is None

    @pytest.mark.parametrize(
        ("max_age", "seconds"),
        [
            pytest.param(60, 60.0, id="int"),
            pytest.param(90.5, 90.5, id="float"),
            pytest.param(timedelta(minutes=5), 300.0, id="timedelta"),
            pytest.param(timedelta(days=14), 14 * 86400.0, id="two-weeks"),
            pytest.param(1, 1.0, id="one-second"),
        ],
    )
    def test_max_age_becomes_expires(self, max_age: Any, seconds: float) -> None:
        store = RecordingStore()
        client = client_for(cookie={"max_age": max_age}, store=store)
        response, before, after = timed(lambda: client.get("/"))
        header = the_cookie(response)
        span = timedelta(seconds=seconds)
        assert_about(expires_of(header), before + span, after + span)
        assert "max-age" not in attributes(header)
        cookie = stored_cookie(store)
        assert cookie["originalMaxAge"] == round(seconds * 1000)
        assert isinstance(cookie["originalMaxAge"], int)
        assert JS_DATE.fullmatch(cookie["expires"])
        assert_about(parse_js_date(cookie["expires"]), before + span, after + span)

    def test_expires_restarts_on_each_request(self) -> None:
        store = RecordingStore()
        store.set("abc", express_record(originalMaxAge=600000, expires=js_date(Y2030)))
        client = client_for(cookie={"max_age": 600}, store=store, rolling=True)
        response, before, after = timed(lambda: client.get("/", **with_cookie()))
        span = timedelta(seconds=600)
        assert_about(expires_of(the_cookie(response)), before + span, after + span)

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param({"max_age": 60, "expires": Y2030}, id="max-age-first"),
            pytest.param({"expires": Y2030, "max_age": 60}, id="expires-first"),
        ],
    )
    def test_max_age_wins_over_expires(self, options: dict[str, Any]) -> None:
        store = RecordingStore()
        client = client_for(cookie=options, store=store)
        response, before, after = timed(lambda: client.get("/"))
        span = timedelta(seconds=60)
        assert_about(expires_of(the_cookie(response)), before + span, after + span)
        assert stored_cookie(store)["originalMaxAge"] == 60000


class TestExpires:
    @pytest.mark.parametrize(
        "expires",
        [
            pytest.param(Y2030, id="aware-utc"),
            pytest.param(Y2030.replace(tzinfo=None), id="naive-is-utc"),
            pytest.param(Y2030.astimezone(timezone(timedelta(hours=2))), id="other-zone"),
            pytest.param(Y2030.astimezone(timezone(timedelta(hours=-7))), id="negative-zone"),
        ],
    )
    @pytest.mark.usefixtures("local_time_not_utc")
    def test_expires_datetime(self, expires: datetime) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(cookie={"expires": expires}, store=store).get("/"))
        assert attributes(header)["expires"] == Y2030_HTTP
        assert "max-age" not in attributes(header)
        cookie = stored_cookie(store)
        assert cookie["expires"].startswith("2030-01-01T00:00:00.")
        assert JS_DATE.fullmatch(cookie["expires"])
        assert isinstance(cookie["originalMaxAge"], int)
        seconds_left = (Y2030 - datetime.now(UTC)).total_seconds()
        assert cookie["originalMaxAge"] / 1000 == pytest.approx(seconds_left, abs=5)


class TestNoMaxAgeAttribute:
    """express-session never emits Max-Age; the expiry travels as Expires."""

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param(None, id="default"),
            pytest.param({"max_age": 60}, id="max-age"),
            pytest.param({"max_age": timedelta(hours=1)}, id="timedelta"),
            pytest.param({"expires": Y2030}, id="expires"),
            pytest.param({"max_age": 60, "secure": True, "samesite": "none"}, id="all"),
        ],
    )
    def test_never_max_age(self, options: dict[str, Any] | None) -> None:
        store = RecordingStore()
        client = client_for(cookie=options, store=store, rolling=True)
        responses = [client.get("/", **HTTPS), client.get("/", **with_cookie(**HTTPS))]

        def destroy(session: Session, environ: dict[str, Any]) -> None:
            session.destroy()

        responses.append(
            client_for(destroy, cookie=options, store=store).get("/", **with_cookie(**HTTPS))
        )
        headers = [header for response in responses for header in set_cookies(response)]
        assert len(headers) == 3
        for header in headers:
            assert "max-age" not in attributes(header)
            assert "max-age" not in header.lower()


# SameSite, Partitioned, Priority.


class TestSameSite:
    @pytest.mark.parametrize(
        ("value", "https", "expected"),
        [
            pytest.param(None, False, None, id="default"),
            pytest.param(False, False, None, id="false"),
            pytest.param(True, False, "Strict", id="true-is-strict"),
            pytest.param("lax", False, "Lax", id="lax"),
            pytest.param("Lax", False, "Lax", id="Lax"),
            pytest.param("LAX", False, "Lax", id="LAX"),
            pytest.param("strict", False, "Strict", id="strict"),
            pytest.param("STRICT", False, "Strict", id="STRICT"),
            pytest.param("none", False, "None", id="none"),
            pytest.param("None", True, "None", id="None"),
            pytest.param("auto", False, "Lax", id="auto-http"),
            pytest.param("auto", True, "None", id="auto-https"),
            pytest.param("AUTO", True, "None", id="AUTO-https"),
            pytest.param("Auto", False, "Lax", id="Auto-http"),
        ],
    )
    def test_samesite(self, value: Any, https: bool, expected: str | None) -> None:
        options = {} if value is None else {"samesite": value}
        store = RecordingStore()
        client = client_for(cookie=options, store=store)
        header = the_cookie(client.get("/", **(HTTPS if https else {})))
        assert attributes(header).get("samesite") == expected
        if expected is not None:
            assert f"SameSite={expected}" in attribute_set(header)
            assert stored_cookie(store)["sameSite"].lower() == expected.lower()
        else:
            assert not stored_cookie(store).get("sameSite")


class TestPartitioned:
    def test_not_partitioned_by_default(self) -> None:
        assert "partitioned" not in attributes(the_cookie(client_for().get("/", **HTTPS)))

    def test_partitioned_implies_secure(self) -> None:
        store = RecordingStore()
        client = client_for(cookie={"partitioned": True}, store=store)
        header = the_cookie(client.get("/", **HTTPS))
        assert "Partitioned" in attribute_set(header)
        assert "Secure" in attribute_set(header)
        assert stored_cookie(store)["partitioned"] is True

    def test_partitioned_cookie_not_sent_over_http(self) -> None:
        # It carries Secure, so it is a secure cookie.
        store = RecordingStore()
        response = client_for(cookie={"partitioned": True}, store=store).get("/")
        assert set_cookies(response) == []
        assert store.get("abc") is not None

    def test_partitioned_false(self) -> None:
        header = the_cookie(client_for(cookie={"partitioned": False}).get("/", **HTTPS))
        assert "partitioned" not in attributes(header)
        assert "secure" not in attributes(header)


class TestPriority:
    @pytest.mark.parametrize(
        ("value", "rendered"),
        [
            ("low", "Low"),
            ("LOW", "Low"),
            ("medium", "Medium"),
            ("Medium", "Medium"),
            ("high", "High"),
            ("HIGH", "High"),
            ("hIgH", "High"),
        ],
    )
    def test_priority(self, value: str, rendered: str) -> None:
        store = RecordingStore()
        header = the_cookie(client_for(cookie={"priority": value}, store=store).get("/"))
        assert f"Priority={rendered}" in attribute_set(header)
        assert stored_cookie(store)["priority"].lower() == rendered.lower()

    def test_no_priority_by_default(self) -> None:
        store = RecordingStore()
        assert "priority" not in attributes(the_cookie(client_for(store=store).get("/")))
        assert "priority" not in stored_cookie(store)


class TestFullHeader:
    def test_every_attribute(self) -> None:
        # express-session's example with every attribute, in our order.
        options = {
            "domain": "example.com",
            "path": "/app",
            "expires": Y2030,
            "httponly": True,
            "secure": True,
            "partitioned": True,
            "priority": "high",
            "samesite": "none",
        }
        header = the_cookie(client_for(cookie=options).get("/app", **HTTPS))
        expected = (
            "connect.sid=s%3Aabc.BpxCrWRpvZMh%2Fwk%2Fdjl34N%2Bm%2BVQEU7K%2F5WenLwJCgFU;"
            " Domain=example.com; Path=/app; Expires=Tue, 01 Jan 2030 00:00:00 GMT; HttpOnly;"
            " Secure; Partitioned; Priority=High; SameSite=None"
        )
        assert header.split("; ", 1)[0] == expected.split("; ", 1)[0]
        assert attribute_set(header) == attribute_set(expected)


# The callable cookie option.


class TestCallableCookie:
    def test_called_for_each_request_with_its_environ(self) -> None:
        calls: list[str] = []

        def options(environ: dict[str, Any]) -> dict[str, Any]:
            calls.append(environ["PATH_INFO"])
            return {"domain": environ["HTTP_X_TENANT"] + ".example.com"}

        ids = itertools.count()
        client = client_for(cookie=options, genid=lambda environ: f"s{next(ids)}")
        first = the_cookie(client.get("/one", headers={"X-Tenant": "red"}))
        second = the_cookie(client.get("/two", headers={"X-Tenant": "blue"}))
        assert "Domain=red.example.com" in attribute_set(first)
        assert "Domain=blue.example.com" in attribute_set(second)
        assert calls[0] == "/one"
        assert calls[-1] == "/two"

    @pytest.mark.parametrize(
        ("https", "secure", "samesite"),
        [
            pytest.param(False, False, "Lax", id="http"),
            pytest.param(True, True, "None", id="https"),
        ],
    )
    def test_auto_values_from_the_callable_work(
        self, https: bool, secure: bool, samesite: str
    ) -> None:
        # Unlike express-session, where 'auto' from a function is kept literally.
        store = RecordingStore()
        client = client_for(
            cookie=lambda environ: {"secure": "auto", "samesite": "auto"}, store=store
        )
        response = client.get("/", **(HTTPS if https else {}))
        header = the_cookie(response)
        assert ("Secure" in attribute_set(header)) is secure
        assert f"SameSite={samesite}" in attribute_set(header)
        assert stored_cookie(store)["sameSite"] == samesite.lower()

    def test_path_from_the_callable_decides_the_match(self) -> None:
        seen: list[Any] = []
        middleware = presence_middleware(seen, cookie=lambda environ: {"path": "/app"})
        client = Client(middleware, use_cookies=False)
        client.get("/app/x")
        client.get("/other")
        assert isinstance(seen[0], Session)
        assert seen[1] is None

    def test_loaded_session_keeps_the_attributes_it_was_created_with(self) -> None:
        domain = ["a.example.com"]
        store = RecordingStore()
        client = client_for(
            cookie=lambda environ: {"domain": domain[0], "max_age": 60},
            store=store,
            rolling=True,
        )
        created = the_cookie(client.get("/"))
        assert "Domain=a.example.com" in attribute_set(created)
        domain[0] = "b.example.com"
        again = the_cookie(client.get("/", **with_cookie()))
        assert "Domain=a.example.com" in attribute_set(again)
        assert stored_cookie(store)["domain"] == "a.example.com"

    @pytest.mark.parametrize(
        ("result", "option"),
        [
            pytest.param({"maxAge": 60}, "maxAge", id="express-name"),
            pytest.param({"bogus": 1}, "bogus", id="unknown"),
            pytest.param({"samesite": "sometimes"}, "samesite", id="samesite"),
            pytest.param({"priority": "urgent"}, "priority", id="priority"),
            pytest.param({"secure": "yes"}, "secure", id="secure"),
            pytest.param({"max_age": "60"}, "max_age", id="max-age-str"),
            pytest.param({"path": "app"}, "path", id="path"),
            pytest.param({"expires": "2030-01-01"}, "expires", id="expires"),
            pytest.param(["max_age", 60], "cookie", id="not-a-dict"),
        ],
    )
    def test_invalid_result_raises_at_request_time(self, result: Any, option: str) -> None:
        client = client_for(cookie=lambda environ: result)
        with pytest.raises((TypeError, ValueError), match=re.escape(option)):
            client.get("/")


# Attributes stored with the session.


class TestStoredAttributes:
    def test_session_created_over_http_keeps_its_auto_values_over_https(self) -> None:
        store = RecordingStore()
        client = client_for(
            cookie={"secure": "auto", "samesite": "auto"}, store=store, rolling=True
        )
        created = the_cookie(client.get("/"))
        assert "secure" not in attributes(created)
        assert "SameSite=Lax" in attribute_set(created)
        later = the_cookie(client.get("/", **with_cookie(**HTTPS)))
        assert "secure" not in attributes(later)
        assert "SameSite=Lax" in attribute_set(later)

    def test_session_created_over_https_keeps_secure_over_http(self) -> None:
        store = RecordingStore()
        client = client_for(
            cookie={"secure": "auto", "samesite": "auto"}, store=store, rolling=True
        )
        created = the_cookie(client.get("/", **HTTPS))
        assert "Secure" in attribute_set(created)
        assert "SameSite=None" in attribute_set(created)
        assert set_cookies(client.get("/", **with_cookie())) == []
        assert stored_cookie(store)["secure"] is True

    def test_changed_options_affect_only_new_sessions(self) -> None:
        store = RecordingStore()
        before = client_for(store=store, genid=lambda environ: "old")
        before.get("/")
        after = client_for(
            cookie={"domain": "example.com", "max_age": 60, "path": "/", "samesite": "strict"},
            store=store,
            rolling=True,
            genid=lambda environ: "new",
        )
        old = the_cookie(after.get("/", **with_cookie("old")))
        assert attribute_set(old) == {"Path=/", "HttpOnly"}
        response = after.get("/")
        assert sid_from(response) == "new"
        new = the_cookie(response)
        assert "Domain=example.com" in attribute_set(new)
        assert "SameSite=Strict" in attribute_set(new)
        assert "expires" in attributes(new)

    def test_loaded_session_uses_its_stored_path_and_domain(self) -> None:
        store = RecordingStore()
        store.set("abc", express_record(domain="stored.example", path="/"))
        client = client_for(cookie={"domain": "current.example"}, store=store, rolling=True)
        header = the_cookie(client.get("/", **with_cookie()))
        assert "Domain=stored.example" in attribute_set(header)

    def test_clearing_cookie_on_destroy_has_the_sessions_path_and_domain(self) -> None:
        store = RecordingStore()
        store.set("abc", express_record(domain="example.com", path="/app"))

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.destroy()

        response = client_for(view, cookie={"path": "/app"}, store=store).get(
            "/app", **with_cookie()
        )
        header = the_cookie(response)
        assert header.split(";", 1)[0] == "connect.sid="
        assert "Domain=example.com" in attribute_set(header)
        assert "Path=/app" in attribute_set(header)
        assert expires_of(header) < datetime.now(UTC)


# The stored record's cookie JSON.


class TestRecordShape:
    def test_default_cookie_json(self) -> None:
        store = RecordingStore()
        client_for(store=store).get("/")
        assert store.get("abc") == {"cookie": DEFAULT_COOKIE_JSON}

    def test_data_beside_the_cookie(self) -> None:
        store = RecordingStore()
        client_for(lambda session, environ: session.update(views=1), store=store).get("/")
        assert store.get("abc") == {"cookie": DEFAULT_COOKIE_JSON, "views": 1}

    def test_every_attribute_in_express_shape(self) -> None:
        store = RecordingStore()
        options = {
            "max_age": 60,
            "domain": "example.com",
            "path": "/app",
            "secure": True,
            "httponly": False,
            "samesite": "lax",
            "partitioned": True,
            "priority": "high",
        }
        client = client_for(cookie=options, store=store)
        _, before, after = timed(lambda: client.get("/app", **HTTPS))
        cookie = stored_cookie(store)
        assert set(cookie) == {
            "originalMaxAge",
            "expires",
            "httpOnly",
            "path",
            "domain",
            "secure",
            "sameSite",
            "partitioned",
            "priority",
        }
        assert cookie["originalMaxAge"] == 60000
        assert JS_DATE.fullmatch(cookie["expires"])
        span = timedelta(seconds=60)
        assert_about(parse_js_date(cookie["expires"]), before + span, after + span)
        assert cookie["httpOnly"] is False
        assert cookie["path"] == "/app"
        assert cookie["domain"] == "example.com"
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "lax"
        assert cookie["partitioned"] is True
        assert cookie["priority"] == "high"

    def test_express_record_loads(self) -> None:
        store = RecordingStore()
        store.set(
            "abc",
            express_record(secure=False, domain="example.com", sameSite="strict", priority="high"),
        )
        seen: dict[str, Any] = {}

        def view(session: Session, environ: dict[str, Any]) -> None:
            cookie = session.cookie
            seen.update(
                views=session["views"],
                keys=sorted(session),
                original_max_age=cookie.original_max_age,
                max_age=cookie.max_age,
                expires=cookie.expires,
                path=cookie.path,
                domain=cookie.domain,
                httponly=cookie.httponly,
                secure=cookie.secure,
                samesite=cookie.samesite,
                priority=cookie.priority,
                partitioned=cookie.partitioned,
            )

        client = client_for(view, store=store, rolling=True)
        response, before, after = timed(lambda: client.get("/", **with_cookie()))
        assert seen["views"] == 2
        assert seen["keys"] == ["views"]
        assert seen["original_max_age"] == 3600
        assert 3500 < seen["max_age"] <= 3600
        assert seen["expires"].utcoffset() == timedelta(0)
        assert seen["path"] == "/"
        assert seen["domain"] == "example.com"
        assert seen["httponly"] is True
        assert seen["secure"] is False
        assert seen["samesite"] == "strict"
        assert seen["priority"] == "high"
        assert seen["partitioned"] is False
        header = the_cookie(response)
        assert {"Domain=example.com", "Path=/", "HttpOnly", "SameSite=Strict"} <= (
            attribute_set(header)
        )
        assert "Priority=High" in attribute_set(header)
        span = timedelta(hours=1)
        assert_about(expires_of(header), before + span, after + span)
        # Saved back in the same shape, the data kept.
        record = store.get("abc")
        assert record is not None
        assert record["views"] == 2
        assert record["cookie"]["originalMaxAge"] == 3600000
        assert record["cookie"]["domain"] == "example.com"

    def test_express_default_record_loads(self) -> None:
        store = RecordingStore()
        store.set("abc", {"cookie": dict(DEFAULT_COOKIE_JSON), "n": 1})
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append((session["n"], session.cookie.expires, session.cookie.max_age))

        response = client_for(view, store=store, rolling=True).get("/", **with_cookie())
        assert seen == [(1, None, None)]
        assert attribute_set(the_cookie(response)) == {"Path=/", "HttpOnly"}

    @pytest.mark.parametrize(
        ("stored", "rendered"),
        [
            pytest.param(True, "Strict", id="true"),
            pytest.param("strict", "Strict", id="strict"),
            pytest.param("Lax", "Lax", id="Lax"),
            pytest.param("none", "None", id="none"),
            pytest.param(False, None, id="false"),
        ],
    )
    def test_express_samesite_values_load(self, stored: Any, rendered: str | None) -> None:
        store = RecordingStore()
        store.set("abc", express_record(sameSite=stored))
        header = the_cookie(client_for(store=store, rolling=True).get("/", **with_cookie()))
        assert attributes(header).get("samesite") == rendered

    @pytest.mark.parametrize("stored", ["low", "Medium", "HIGH"])
    def test_express_priority_values_load(self, stored: str) -> None:
        store = RecordingStore()
        store.set("abc", express_record(priority=stored))
        header = the_cookie(client_for(store=store, rolling=True).get("/", **with_cookie()))
        assert f"Priority={stored.title()}" in attribute_set(header)

    def test_express_partitioned_record_loads(self) -> None:
        store = RecordingStore()
        store.set("abc", express_record(partitioned=True, secure=True))
        client = client_for(store=store, rolling=True)
        header = the_cookie(client.get("/", **with_cookie(**HTTPS)))
        assert {"Partitioned", "Secure"} <= attribute_set(header)


# The SessionCookie API.


class TestSessionCookie:
    def test_defaults(self) -> None:
        cookie = SessionCookie()
        assert cookie.path == "/"
        assert cookie.domain is None
        assert cookie.httponly is True
        assert cookie.secure is False
        assert cookie.samesite is None
        assert cookie.partitioned is False
        assert cookie.priority is None
        assert cookie.expires is None
        assert cookie.max_age is None
        assert cookie.original_max_age is None

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            pytest.param(60, 60.0, id="int"),
            pytest.param(12.5, 12.5, id="float"),
            pytest.param(timedelta(minutes=2), 120.0, id="timedelta"),
        ],
    )
    def test_assign_max_age(self, value: Any, seconds: float) -> None:
        cookie = SessionCookie()
        before = datetime.now(UTC)
        cookie.max_age = value
        after = datetime.now(UTC)
        assert cookie.original_max_age == seconds
        max_age = cookie.max_age
        assert isinstance(max_age, float)
        assert seconds - 5 < max_age <= seconds
        assert cookie.expires is not None
        assert cookie.expires.utcoffset() == timedelta(0)
        span = timedelta(seconds=seconds)
        assert before + span - timedelta(milliseconds=1) <= cookie.expires
        assert cookie.expires <= after + span + timedelta(milliseconds=1)

    def test_assign_max_age_none(self) -> None:
        cookie = SessionCookie()
        cookie.max_age = 60
        cookie.max_age = None
        assert cookie.expires is None
        assert cookie.max_age is None
        assert cookie.original_max_age is None

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            pytest.param("60", TypeError, id="str"),
            pytest.param(True, TypeError, id="bool"),
            pytest.param([60], TypeError, id="list"),
            pytest.param(math.nan, ValueError, id="nan"),
            pytest.param(math.inf, ValueError, id="inf"),
        ],
    )
    def test_assign_bad_max_age(self, value: Any, error: type[Exception]) -> None:
        cookie = SessionCookie()
        with pytest.raises(error):
            cookie.max_age = value
        assert cookie.expires is None

    def test_assign_aware_expires(self) -> None:
        cookie = SessionCookie()
        target = datetime.now(UTC) + timedelta(hours=2)
        cookie.expires = target
        assert cookie.expires == target
        assert cookie.expires.utcoffset() == timedelta(0)
        assert cookie.original_max_age == pytest.approx(7200, abs=5)
        assert cookie.max_age == pytest.approx(7200, abs=5)

    @pytest.mark.usefixtures("local_time_not_utc")
    def test_assign_naive_expires_is_utc(self) -> None:
        cookie = SessionCookie()
        cookie.expires = datetime(2030, 1, 1, 12, 30)
        assert cookie.expires == datetime(2030, 1, 1, 12, 30, tzinfo=UTC)
        assert cookie.expires.utcoffset() == timedelta(0)

    def test_assign_expires_in_another_zone_is_converted(self) -> None:
        cookie = SessionCookie()
        cookie.expires = datetime(2030, 1, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
        assert cookie.expires is not None
        assert cookie.expires.utcoffset() == timedelta(0)
        assert cookie.expires.replace(tzinfo=None) == datetime(2030, 1, 1, 12, 30)

    def test_assign_expires_none(self) -> None:
        cookie = SessionCookie()
        cookie.max_age = 60
        cookie.expires = None
        assert cookie.expires is None
        assert cookie.max_age is None
        assert cookie.original_max_age is None

    def test_past_expires_gives_negative_max_age(self) -> None:
        cookie = SessionCookie()
        cookie.expires = datetime(2000, 1, 1, tzinfo=UTC)
        assert cookie.max_age is not None
        assert cookie.max_age < 0
        assert cookie.original_max_age is not None
        assert cookie.original_max_age < 0

    def test_touch_restarts_the_expiry(self) -> None:
        cookie = SessionCookie(original_max_age=60.0, expires=datetime(2000, 1, 1, tzinfo=UTC))
        cookie.touch()
        assert cookie.original_max_age == 60.0
        assert cookie.max_age == pytest.approx(60, abs=5)

    def test_touch_without_original_max_age_is_a_browser_session(self) -> None:
        cookie = SessionCookie(expires=datetime(2030, 1, 1, tzinfo=UTC))
        cookie.touch()
        assert cookie.expires is None

    def test_in_a_view(self) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            cookie = session.cookie
            seen.append((cookie.max_age, cookie.original_max_age, cookie.expires))

        client_for(view, cookie={"max_age": 60}).get("/")
        [(max_age, original, expires)] = seen
        assert isinstance(max_age, float)
        assert 55 < max_age <= 60
        assert original == 60
        assert isinstance(expires, datetime)
        assert expires.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [pytest.param(120, 120, id="seconds"), pytest.param(timedelta(minutes=3), 180, id="td")],
    )
    def test_max_age_set_in_a_view(self, value: Any, seconds: int) -> None:
        store = RecordingStore()

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.max_age = value

        client = client_for(view, cookie={"max_age": 60}, store=store)
        response, before, after = timed(lambda: client.get("/"))
        span = timedelta(seconds=seconds)
        assert_about(expires_of(the_cookie(response)), before + span, after + span)
        assert stored_cookie(store)["originalMaxAge"] == seconds * 1000

    def test_expires_set_in_a_view(self) -> None:
        def view(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.expires = Y2030

        header = the_cookie(client_for(view).get("/"))
        assert attributes(header)["expires"] == Y2030_HTTP

    def test_max_age_none_in_a_view_makes_a_browser_session_cookie(self) -> None:
        store = RecordingStore()

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.max_age = None

        header = the_cookie(client_for(view, cookie={"max_age": 60}, store=store).get("/"))
        assert "expires" not in attributes(header)
        assert stored_cookie(store)["originalMaxAge"] is None
        assert stored_cookie(store)["expires"] is None

    def test_session_touch(self) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.cookie.expires = datetime(2000, 1, 1, tzinfo=UTC)
            session.cookie.original_max_age = 600.0
            session.touch()
            seen.append(session.cookie.max_age)

        client_for(view).get("/")
        assert seen[0] == pytest.approx(600, abs=5)


# Validation at construction.


class TestValidation:
    @pytest.mark.parametrize(
        ("options", "names"),
        [
            pytest.param({"maxAge": 60}, ["maxAge", "max_age"], id="maxAge"),
            pytest.param({"httpOnly": True}, ["httpOnly", "httponly"], id="httpOnly"),
            pytest.param({"sameSite": "lax"}, ["sameSite", "samesite"], id="sameSite"),
            pytest.param({"bogus": 1}, ["bogus"], id="unknown"),
            pytest.param({"samesite": "sometimes"}, ["samesite"], id="samesite-str"),
            pytest.param({"samesite": 1}, ["samesite"], id="samesite-int"),
            pytest.param({"priority": "urgent"}, ["priority"], id="priority-str"),
            pytest.param({"priority": 3}, ["priority"], id="priority-int"),
            pytest.param({"secure": "yes"}, ["secure"], id="secure-str"),
            pytest.param({"secure": 1}, ["secure"], id="secure-int"),
            pytest.param({"path": "app"}, ["path"], id="path-relative"),
            pytest.param({"path": ""}, ["path"], id="path-empty"),
            pytest.param({"path": "/a;b"}, ["path"], id="path-semicolon"),
            pytest.param({"path": 5}, ["path"], id="path-int"),
            pytest.param({"domain": "example.com;evil"}, ["domain"], id="domain-semicolon"),
            pytest.param({"domain": "exa mple.com"}, ["domain"], id="domain-space"),
            pytest.param({"domain": 5}, ["domain"], id="domain-int"),
            pytest.param({"max_age": "60"}, ["max_age"], id="max_age-str"),
            pytest.param({"max_age": True}, ["max_age"], id="max_age-bool"),
            pytest.param({"max_age": math.nan}, ["max_age"], id="max_age-nan"),
            pytest.param({"max_age": math.inf}, ["max_age"], id="max_age-inf"),
            pytest.param({"expires": "2030-01-01"}, ["expires"], id="expires-str"),
            pytest.param({"expires": 1893456000}, ["expires"], id="expires-timestamp"),
            pytest.param({"httponly": "yes"}, ["httponly"], id="httponly-str"),
            pytest.param({"partitioned": 1}, ["partitioned"], id="partitioned-int"),
        ],
    )
    def test_invalid_option(self, options: dict[str, Any], names: list[str]) -> None:
        with pytest.raises((TypeError, ValueError)) as info:
            make_middleware(session_app(), cookie=options)
        for name in names:
            assert name in str(info.value)

    def test_max_age_beyond_the_datetime_range_is_refused_at_construction(self) -> None:
        # 10**12 seconds is past year 9999: no datetime can hold the expiry, so
        # the option is invalid, and must fail here rather than as a 500 on
        # every request (SPEC §2: invalid cookie options fail at construction).
        with pytest.raises((TypeError, ValueError), match="max_age"):
            make_middleware(session_app(), cookie={"max_age": 10**12})

    @pytest.mark.parametrize("cookie", [42, "path=/", [("path", "/")]])
    def test_cookie_option_must_be_a_dict_or_callable(self, cookie: Any) -> None:
        with pytest.raises(TypeError, match="cookie"):
            make_middleware(session_app(), cookie=cookie)

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param({}, id="empty"),
            pytest.param({"secure": "auto", "samesite": "auto"}, id="auto"),
            pytest.param({"samesite": True, "priority": "LOW"}, id="case"),
            pytest.param({"max_age": 0}, id="zero"),
            pytest.param({"max_age": timedelta(days=400)}, id="long"),
            pytest.param({"expires": Y2030, "domain": "example.com", "path": "/a/b/"}, id="misc"),
        ],
    )
    def test_valid_options(self, options: dict[str, Any]) -> None:
        make_middleware(session_app(), cookie=options)


# wsgisession.record.


class TestRecord:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(datetime(2030, 1, 1, tzinfo=UTC), "2030-01-01T00:00:00.000Z", id="utc"),
            pytest.param(
                datetime(2026, 12, 4, 14, 12, 37, 966000, tzinfo=UTC),
                "2026-12-04T14:12:37.966Z",
                id="milliseconds",
            ),
            pytest.param(
                datetime(2026, 12, 4, 14, 12, 37, 123456, tzinfo=UTC),
                "2026-12-04T14:12:37.123Z",
                id="microseconds-dropped",
            ),
            pytest.param(
                datetime(2030, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
                "2030-01-01T00:00:00.000Z",
                id="other-zone",
            ),
            pytest.param(
                datetime(2029, 12, 31, 19, 0, tzinfo=timezone(timedelta(hours=-5))),
                "2030-01-01T00:00:00.000Z",
                id="negative-zone-next-day",
            ),
            pytest.param(
                datetime(999, 3, 4, 5, 6, 7, tzinfo=UTC),
                "0999-03-04T05:06:07.000Z",
                id="four-digit-year",
            ),
        ],
    )
    def test_format_js_date(self, value: datetime, expected: str) -> None:
        assert format_js_date(value) == expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("2030-01-01T00:00:00.000Z", datetime(2030, 1, 1, tzinfo=UTC), id="js"),
            pytest.param("2030-01-01T00:00:00Z", datetime(2030, 1, 1, tzinfo=UTC), id="no-ms"),
            pytest.param(
                "2026-12-04T14:12:37.966Z",
                datetime(2026, 12, 4, 14, 12, 37, 966000, tzinfo=UTC),
                id="ms",
            ),
            pytest.param(
                "2030-01-01T02:00:00.000+02:00", datetime(2030, 1, 1, tzinfo=UTC), id="offset"
            ),
            pytest.param("2030-01-01T00:00:00.000", datetime(2030, 1, 1, tzinfo=UTC), id="naive"),
        ],
    )
    @pytest.mark.usefixtures("local_time_not_utc")
    def test_parse_js_date(self, value: str, expected: datetime) -> None:
        parsed = parse_js_date(value)
        assert parsed == expected
        assert parsed.utcoffset() == timedelta(0)

    @pytest.mark.parametrize(
        "value",
        ["2030-01-01T00:00:00.000Z", "2026-12-04T14:12:37.966Z", "1970-01-01T00:00:00.000Z"],
    )
    def test_round_trip(self, value: str) -> None:
        assert format_js_date(parse_js_date(value)) == value

    @pytest.mark.parametrize(
        "value",
        [
            "tomorrow",
            "",
            "2030-13-01T00:00:00.000Z",
            "2030/01/01",
            "2030-01-01 00:00:00+0000Z",
            "x" * 23 + "Z",
        ],
    )
    def test_parse_invalid(self, value: str) -> None:
        with pytest.raises(ValueError):  # noqa: PT011
            parse_js_date(value)

    @pytest.mark.parametrize(
        ("record", "expected"),
        [
            pytest.param(
                {"cookie": {"expires": "2030-01-01T00:00:00.000Z"}}, 1893456000.0, id="expires"
            ),
            pytest.param({"cookie": {"expires": None}}, None, id="browser-session"),
            pytest.param({"cookie": DEFAULT_COOKIE_JSON}, None, id="default-cookie"),
            pytest.param({"cookie": {}}, None, id="no-expires-key"),
            pytest.param({"views": 1}, None, id="no-cookie"),
            pytest.param({"cookie": "junk"}, None, id="cookie-not-a-dict"),
            pytest.param({"cookie": {"expires": "not a date"}}, 0.0, id="unreadable-date"),
            pytest.param({"cookie": {"expires": 1893456000}}, 0.0, id="number"),
        ],
    )
    def test_record_expiry(self, record: dict[str, Any], expected: float | None) -> None:
        assert record_expiry(record) == expected

    def test_is_expired(self) -> None:
        record = {"cookie": {"expires": "2030-01-01T00:00:00.000Z"}}
        assert not is_expired(record, now=1893455999.0)
        assert is_expired(record, now=1893456000.0)
        assert not is_expired(record)
        assert is_expired({"cookie": {"expires": "2000-01-01T00:00:00.000Z"}})
        assert not is_expired({"cookie": {"expires": None}}, now=math.inf)
        assert is_expired({"cookie": {"expires": "garbage"}})


class TestPercentEncodedPath:
    """The cookie path is percent-encoded on the wire; PATH_INFO is decoded."""

    def test_encoded_path_matches_the_decoded_request_path(self) -> None:
        client = make_client(
            lambda session, environ: str(session is not None), **{"cookie": {"path": "/caf%C3%A9"}}
        )
        response = client.get("/caf%C3%A9/menu")
        assert response.text == "True"
        header = session_cookie(response)
        assert header is not None
        assert "Path=/caf%C3%A9" in header

    def test_encoded_path_does_not_match_a_sibling(self) -> None:
        seen: list[object] = []

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            seen.append(environ.get("wsgisession"))
            return Response("ok")(environ, start_response)

        client = Client(make_middleware(app, cookie={"path": "/caf%C3%A9"}))
        client.get("/caf%C3%A9s")
        assert seen == [None]


class TestDomainValidation:
    @pytest.mark.parametrize("domain", ["a..b", "x" * 64 + ".com", "."])
    def test_a_domain_werkzeug_cannot_write_fails_at_construction(self, domain: str) -> None:
        with pytest.raises(ValueError, match="domain"):
            make_middleware(session_app(), cookie={"domain": domain})

    def test_an_internationalised_domain_is_accepted(self) -> None:
        client = make_client(lambda session, environ: None, cookie={"domain": "bücher.example"})
        header = session_cookie(client.get("/"))
        assert header is not None
        assert "Domain=xn--bcher-kva.example" in header


class TestCookieOptionsObject:
    def test_direct_construction_validates(self) -> None:
        with pytest.raises(ValueError, match="path"):
            CookieOptions(path="no-slash")
        with pytest.raises(TypeError, match="max_age"):
            CookieOptions(max_age="soon")  # type: ignore[arg-type]

    def test_direct_construction_normalises(self) -> None:
        options = CookieOptions(max_age=timedelta(minutes=2), samesite=True, priority="HIGH")  # type: ignore[arg-type]
        assert options.max_age == 120.0
        assert options.samesite == "strict"
        assert options.priority == "high"

    def test_an_options_object_is_accepted_as_the_cookie_option(self) -> None:
        client = make_client(
            lambda session, environ: None, cookie=CookieOptions(path="/", priority="low")
        )
        header = session_cookie(client.get("/"))
        assert header is not None
        assert header.endswith("; Priority=Low")


class TestStoredCookiesOutOfRange:
    """A record written by Node may hold values Python's datetime cannot: the
    request fails with StoreError naming the store, not a bare ValueError."""

    def test_huge_original_max_age_is_a_store_error(self) -> None:
        store = MemoryStore()
        cookie = {"originalMaxAge": 1e15, "expires": None, "httpOnly": True, "path": "/"}
        store.set("node-sid", {"cookie": cookie, "n": 1})
        client = make_client(lambda session, environ: None, store=store)
        client.set_cookie("connect.sid", expected_cookie_value("node-sid"))
        with pytest.raises(StoreError, match=r"MemoryStore\.get\(\) failed: .*originalMaxAge"):
            client.get("/")

    def test_expires_past_year_9999_counts_as_expired(self) -> None:
        store = MemoryStore()
        expires = "9999-12-31T23:30:00.000-01:00"
        cookie = {"originalMaxAge": None, "expires": expires, "httpOnly": True, "path": "/"}
        store.set("node-sid", {"cookie": cookie, "n": 1})
        assert store.get("node-sid") is None
        client = make_client(lambda session, environ: session.get("n", "fresh"), store=store)
        client.set_cookie("connect.sid", expected_cookie_value("node-sid"))
        response = client.get("/")
        assert response.status_code == 200
        assert response.text == "fresh"
        assert sid_from(response) != "node-sid"

    def test_unparseable_expires_is_a_store_error_when_a_store_returns_it(self) -> None:
        class Raw(MemoryStore):
            def get(self, sid: str) -> Any:
                return {"cookie": {"expires": "9999-12-31T23:30:00.000-01:00"}, "n": 1}

        client = make_client(lambda session, environ: None, store=Raw())
        client.set_cookie("connect.sid", expected_cookie_value("node-sid"))
        with pytest.raises(StoreError, match="malformed"):
            client.get("/")
