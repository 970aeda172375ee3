"""Constructing SessionMiddleware (SPEC §2): defaults, deprecation warnings,
validation, genid, the cookie name, the public API and logging."""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import wsgisession
from wsgisession import MemoryStore, Session, SessionMiddleware, Store

from .conftest import (
    SECRET,
    RecordingStore,
    make_client,
    make_middleware,
    session_app,
    session_cookie,
    sid_from,
)

# Options that silence the DeprecationWarnings, for tests about something else.
QUIET = {"resave": False, "save_uninitialized": False}


def app(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def build(**options: Any) -> SessionMiddleware:
    """A middleware around ``app`` with the test secret and ``QUIET``,
    overridable by ``options``."""
    return SessionMiddleware(app, **{"secret": SECRET, **QUIET, **options})


def counting_view(session: Session, environ: dict[str, Any]) -> str:
    session["n"] = session.get("n", 0) + 1
    return str(session["n"])


# Defaults.


class TestDefaults:
    def test_name_is_connect_sid(self) -> None:
        response = make_client(counting_view).get("/")
        header = session_cookie(response)
        assert header is not None
        assert header.startswith("connect.sid=s%3A")

    def test_name_is_read_back(self) -> None:
        client = make_client(counting_view)
        client.get("/")
        assert client.get("/").get_data() == b"2"

    def test_store_is_a_memory_store(self) -> None:
        assert isinstance(build().store, MemoryStore)

    def test_each_middleware_gets_its_own_store(self) -> None:
        assert build().store is not build().store

    def test_default_store_keeps_sessions(self) -> None:
        client = Client(make_middleware(session_app(counting_view)))
        assert client.get("/").get_data() == b"1"
        assert client.get("/").get_data() == b"2"
        assert client.get("/").get_data() == b"3"

    def test_genid_makes_32_url_safe_characters(self) -> None:
        sid = sid_from(make_client(counting_view).get("/"))
        assert sid is not None
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", sid)

    def test_genid_is_unique(self) -> None:
        ids = set()
        for _ in range(200):
            sid = sid_from(make_client(counting_view).get("/"))
            assert sid is not None
            ids.add(sid)
        assert len(ids) == 200

    def test_unset_is_keep(self) -> None:
        store = RecordingStore()

        def view(session: Session, environ: dict[str, Any]) -> None:
            if environ["PATH_INFO"] == "/unset":
                session["n"] = 99
                del environ["wsgisession"]
            else:
                session["n"] = 1

        client = make_client(view, store=store)
        sid = sid_from(client.get("/"))
        assert sid is not None
        store.operations()
        client.get("/unset")
        assert "destroy" not in store.operations()
        kept = store.get(sid)
        assert kept is not None
        assert kept["n"] == 1

    def test_rolling_is_false(self) -> None:
        client = make_client(lambda session, environ: session.setdefault("n", 1))
        assert session_cookie(client.get("/")) is not None
        assert session_cookie(client.get("/")) is None

    def test_proxy_is_none_trusts_the_url_scheme(self) -> None:
        client = make_client(counting_view, cookie={"secure": True})
        assert session_cookie(client.get("/", base_url="https://localhost/")) is not None

    def test_proxy_is_none_ignores_x_forwarded_proto(self) -> None:
        client = make_client(counting_view, cookie={"secure": True})
        response = client.get("/", headers={"X-Forwarded-Proto": "https"})
        assert session_cookie(response) is None

    def test_cookie_defaults_in_the_header(self) -> None:
        header = session_cookie(make_client(counting_view).get("/"))
        assert header is not None
        attributes = [part.strip().lower() for part in header.split(";")[1:]]
        assert "path=/" in attributes
        assert "httponly" in attributes
        assert "secure" not in attributes
        assert not any(part.startswith(("expires", "max-age")) for part in attributes)

    def test_options_are_keyword_only(self) -> None:
        with pytest.raises(TypeError):
            SessionMiddleware(app, SECRET)  # type: ignore[call-arg]


# The two options whose absence is deprecated.


class TestDeprecatedDefaults:
    def test_resave_not_given(self) -> None:
        with pytest.warns(DeprecationWarning, match="resave"):
            SessionMiddleware(app, secret=SECRET, save_uninitialized=False)

    def test_save_uninitialized_not_given(self) -> None:
        with pytest.warns(DeprecationWarning, match="save_uninitialized"):
            SessionMiddleware(app, secret=SECRET, resave=False)

    def test_both_not_given(self) -> None:
        with pytest.warns(DeprecationWarning, match="resave|save_uninitialized") as caught:
            SessionMiddleware(app, secret=SECRET)
        messages = [str(warning.message) for warning in caught]
        assert len(messages) == 2
        assert any("resave" in message for message in messages)
        assert any("save_uninitialized" in message for message in messages)

    @pytest.mark.parametrize("resave", [True, False])
    @pytest.mark.parametrize("save_uninitialized", [True, False])
    def test_no_warning_when_given(self, resave: bool, save_uninitialized: bool) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            SessionMiddleware(
                app, secret=SECRET, resave=resave, save_uninitialized=save_uninitialized
            )
        assert caught == []

    def test_warning_points_at_the_caller(self) -> None:
        with pytest.warns(DeprecationWarning, match="resave") as caught:
            SessionMiddleware(app, secret=SECRET, save_uninitialized=False)
        assert Path(caught[0].filename) == Path(__file__)

    def test_resave_defaults_to_true(self) -> None:
        store = RecordingStore()
        with pytest.warns(DeprecationWarning, match="resave"):
            middleware = SessionMiddleware(
                session_app(lambda session, environ: session.setdefault("n", 1)),
                secret=SECRET,
                store=store,
                save_uninitialized=False,
            )
        client = Client(middleware)
        client.get("/")
        store.operations()
        client.get("/")
        assert store.operations() == ["get", "set"]

    def test_save_uninitialized_defaults_to_true(self) -> None:
        store = RecordingStore()
        with pytest.warns(DeprecationWarning, match="save_uninitialized"):
            middleware = SessionMiddleware(session_app(), secret=SECRET, store=store, resave=False)
        response = Client(middleware).get("/")
        assert session_cookie(response) is not None
        assert store.length() == 1


# Invalid options.


class _NotAStore:
    def get(self, sid: str) -> None:
        return None


@pytest.mark.parametrize(
    ("options", "error", "option"),
    [
        pytest.param({"secret": None}, ValueError, "secret", id="secret-none"),
        pytest.param({"secret": ""}, ValueError, "secret", id="secret-empty-str"),
        pytest.param({"secret": b""}, ValueError, "secret", id="secret-empty-bytes"),
        pytest.param({"secret": []}, ValueError, "secret", id="secret-empty-list"),
        pytest.param({"secret": ()}, ValueError, "secret", id="secret-empty-tuple"),
        pytest.param({"secret": ["ok", ""]}, ValueError, "secret", id="secret-list-with-empty"),
        pytest.param({"secret": ["ok", 1]}, TypeError, "secret", id="secret-list-with-int"),
        pytest.param({"secret": [None]}, TypeError, "secret", id="secret-list-with-none"),
        pytest.param({"secret": 42}, TypeError, "secret", id="secret-int"),
        pytest.param({"secret": {"k": "v"}}, TypeError, "secret", id="secret-dict"),
        pytest.param({"name": ""}, ValueError, "name", id="name-empty"),
        pytest.param({"name": "my sid"}, ValueError, "name", id="name-space"),
        pytest.param({"name": "a;b"}, ValueError, "name", id="name-semicolon"),
        pytest.param({"name": "a=b"}, ValueError, "name", id="name-equals"),
        pytest.param({"name": 42}, TypeError, "name", id="name-int"),
        pytest.param({"name": b"sid"}, TypeError, "name", id="name-bytes"),
        pytest.param({"store": object()}, TypeError, "store", id="store-object"),
        pytest.param({"store": _NotAStore()}, TypeError, "store", id="store-duck"),
        pytest.param({"store": MemoryStore}, TypeError, "store", id="store-class"),
        pytest.param({"cookie": 42}, TypeError, "cookie", id="cookie-int"),
        pytest.param({"cookie": "path=/"}, TypeError, "cookie", id="cookie-str"),
        pytest.param({"cookie": [("path", "/")]}, TypeError, "cookie", id="cookie-list"),
        pytest.param({"cookie": {"maxAge": 60}}, TypeError, "maxAge", id="cookie-express-name"),
        pytest.param({"cookie": {"colour": "red"}}, TypeError, "colour", id="cookie-unknown"),
        pytest.param({"cookie": {"max_age": "1h"}}, TypeError, "max_age", id="cookie-max-age"),
        pytest.param({"cookie": {"samesite": "often"}}, ValueError, "samesite", id="samesite"),
        pytest.param({"cookie": {"path": "app"}}, ValueError, "path", id="cookie-path"),
        pytest.param({"genid": "abc"}, TypeError, "genid", id="genid-str"),
        pytest.param({"genid": 42}, TypeError, "genid", id="genid-int"),
        pytest.param({"proxy": "yes"}, TypeError, "proxy", id="proxy-yes"),
        pytest.param({"proxy": "loopback"}, TypeError, "proxy", id="proxy-loopback"),
        pytest.param({"proxy": 1}, TypeError, "proxy", id="proxy-one"),
        pytest.param({"proxy": 0}, TypeError, "proxy", id="proxy-zero"),
        pytest.param({"resave": "yes"}, TypeError, "resave", id="resave-str"),
        pytest.param({"resave": 1}, TypeError, "resave", id="resave-int"),
        pytest.param({"rolling": "yes"}, TypeError, "rolling", id="rolling-str"),
        pytest.param({"rolling": None}, TypeError, "rolling", id="rolling-none"),
        pytest.param({"rolling": 0}, TypeError, "rolling", id="rolling-int"),
        pytest.param(
            {"save_uninitialized": "no"}, TypeError, "save_uninitialized", id="save-uninit-str"
        ),
        pytest.param(
            {"save_uninitialized": 0}, TypeError, "save_uninitialized", id="save-uninit-int"
        ),
        pytest.param({"unset": "foo"}, ValueError, "unset", id="unset-foo"),
        pytest.param({"unset": ""}, ValueError, "unset", id="unset-empty"),
        pytest.param({"unset": True}, ValueError, "unset", id="unset-bool"),
        pytest.param({"colour": "red"}, TypeError, "colour", id="unknown-keyword"),
        pytest.param({"saveUninitialized": False}, TypeError, "saveUninitialized", id="camel"),
        pytest.param({"key": "sid"}, TypeError, "key", id="express-key-alias"),
    ],
)
def test_invalid_option(options: dict[str, Any], error: type[Exception], option: str) -> None:
    with pytest.raises(error, match=re.escape(option)):
        build(**options)


def test_secret_missing() -> None:
    # SPEC §2: "Missing or empty: ValueError at construction."
    with pytest.raises(ValueError, match="secret"):
        SessionMiddleware(app, resave=False, save_uninitialized=False)


def test_app_must_be_callable() -> None:
    with pytest.raises(TypeError):
        SessionMiddleware(42, secret=SECRET, **QUIET)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"secret": b"bytes secret"}, id="secret-bytes"),
        pytest.param({"secret": ["new", "old"]}, id="secret-list"),
        pytest.param({"secret": ("new", b"old")}, id="secret-tuple-mixed"),
        pytest.param({"name": "app.sid"}, id="name-dotted"),
        pytest.param({"name": "__Host-sid"}, id="name-host-prefix"),
        pytest.param({"store": RecordingStore()}, id="store-subclass"),
        pytest.param({"cookie": {}}, id="cookie-empty"),
        pytest.param({"cookie": None}, id="cookie-none"),
        pytest.param({"cookie": lambda environ: {"max_age": 60}}, id="cookie-callable"),
        pytest.param({"genid": lambda environ: "fixed"}, id="genid-lambda"),
        pytest.param({"proxy": True}, id="proxy-true"),
        pytest.param({"proxy": False}, id="proxy-false"),
        pytest.param({"proxy": None}, id="proxy-none"),
        pytest.param({"rolling": True}, id="rolling-true"),
        pytest.param({"unset": "destroy"}, id="unset-destroy"),
        pytest.param({"unset": "keep"}, id="unset-keep"),
    ],
)
def test_valid_option(options: dict[str, Any]) -> None:
    middleware = build(**options)
    assert callable(middleware)


# genid.


class TestGenid:
    def test_custom_genid_is_used(self) -> None:
        ids = iter(["first-id", "second-id"])
        client = make_client(counting_view, genid=lambda environ: next(ids))
        assert sid_from(client.get("/")) == "first-id"

    def test_genid_receives_the_environ(self) -> None:
        seen: list[Any] = []

        def genid(environ: dict[str, Any]) -> str:
            seen.append(environ.get("PATH_INFO"))
            return "from-environ"

        make_client(counting_view, genid=genid).get("/somewhere")
        assert seen == ["/somewhere"]

    def test_genid_is_not_called_at_construction(self) -> None:
        def genid(environ: dict[str, Any]) -> str:
            raise AssertionError("called too early")

        build(genid=genid)

    @pytest.mark.parametrize(
        "result",
        [
            pytest.param(42, id="int"),
            pytest.param(b"bytes-id", id="bytes"),
            pytest.param(None, id="none"),
            pytest.param(["id"], id="list"),
        ],
    )
    def test_non_str_result_is_type_error_at_request_time(self, result: Any) -> None:
        middleware = make_middleware(session_app(counting_view), genid=lambda environ: result)
        with pytest.raises(TypeError, match="genid"):
            Client(middleware).get("/")

    def test_empty_result_is_value_error_at_request_time(self) -> None:
        middleware = make_middleware(session_app(counting_view), genid=lambda environ: "")
        with pytest.raises(ValueError, match="genid"):
            Client(middleware).get("/")

    def test_regenerate_uses_genid(self) -> None:
        ids = iter(["one", "two"])

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.regenerate()
            session["n"] = 1

        response = make_client(view, genid=lambda environ: next(ids)).get("/")
        assert sid_from(response) == "two"


# A custom cookie name.


class TestName:
    def test_written_under_the_custom_name(self) -> None:
        response = make_client(counting_view, name="app.sid").get("/")
        assert session_cookie(response, "app.sid") is not None
        assert session_cookie(response) is None
        names = [value.split("=", 1)[0] for value in response.headers.getlist("Set-Cookie")]
        assert names == ["app.sid"]

    def test_read_under_the_custom_name(self) -> None:
        client = make_client(counting_view, name="app.sid")
        client.get("/")
        assert client.get("/").get_data() == b"2"

    def test_default_name_is_ignored(self) -> None:
        store = MemoryStore()
        default_client = make_client(counting_view, store=store)
        sid = sid_from(default_client.get("/"))
        assert sid is not None
        cookie = default_client.get_cookie("connect.sid")
        assert cookie is not None

        custom = Client(make_middleware(session_app(counting_view), store=store, name="app.sid"))
        custom.set_cookie("connect.sid", cookie.value)
        response = custom.get("/")
        assert response.get_data() == b"1"
        assert sid_from(response, "app.sid") != sid


# The public API.

PUBLIC_NAMES = {
    "CookieOptions",
    "MemoryStore",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "Session",
    "SessionCookie",
    "SessionError",
    "SessionMiddleware",
    "Store",
    "StoreError",
    "get_session",
}
# Stores whose driver is an optional extra, with the extra and the driver's
# module: without the driver, resolving them raises an ImportError naming the
# extra (SPEC §7).
OPTIONAL_EXTRAS = {"RedisStore": ("redis", "redis"), "PostgresStore": ("postgres", "psycopg")}


class TestPublicAPI:
    def test_all_lists_exactly_the_public_names(self) -> None:
        assert set(wsgisession.__all__) == PUBLIC_NAMES

    def test_all_has_no_duplicates(self) -> None:
        assert len(wsgisession.__all__) == len(set(wsgisession.__all__))

    @pytest.mark.parametrize("name", sorted(PUBLIC_NAMES))
    def test_public_name_is_listed(self, name: str) -> None:
        assert name in wsgisession.__all__

    @pytest.mark.parametrize("name", sorted(set(PUBLIC_NAMES) - set(OPTIONAL_EXTRAS)))
    def test_public_name_resolves(self, name: str) -> None:
        value = getattr(wsgisession, name)
        assert value is not None
        assert getattr(value, "__name__", name) == name

    @pytest.mark.parametrize(
        ("name", "extra", "driver"),
        [(name, extra, driver) for name, (extra, driver) in sorted(OPTIONAL_EXTRAS.items())],
    )
    def test_optional_store_resolves_or_names_its_extra(
        self, name: str, extra: str, driver: str
    ) -> None:
        if importlib.util.find_spec(driver) is None:
            with pytest.raises(ImportError, match=re.escape(f"wsgisession[{extra}]")):
                getattr(wsgisession, name)
        else:
            assert issubclass(getattr(wsgisession, name), Store)

    def test_every_name_in_all_resolves(self) -> None:
        for name in wsgisession.__all__:
            if name in OPTIONAL_EXTRAS:
                continue
            assert getattr(wsgisession, name) is not None, name

    @pytest.mark.parametrize("name", ["MemoryStore", "SQLiteStore"])
    def test_stores_are_stores(self, name: str) -> None:
        assert issubclass(getattr(wsgisession, name), Store)

    def test_errors_share_a_base(self) -> None:
        assert issubclass(wsgisession.StoreError, wsgisession.SessionError)
        assert issubclass(wsgisession.SessionError, Exception)

    def test_star_import(self) -> None:
        namespace: dict[str, Any] = {}
        exec("from wsgisession import *", namespace)
        for name in set(wsgisession.__all__) - set(OPTIONAL_EXTRAS):
            assert name in namespace, name

    def test_import_needs_no_optional_driver(self) -> None:
        code = (
            "import sys, wsgisession; "
            "loaded = [m for m in ('redis', 'psycopg', 'psycopg_pool') if m in sys.modules]; "
            "assert not loaded, loaded"
        )
        subprocess.run([sys.executable, "-c", code], check=True)

    def test_version(self) -> None:
        assert isinstance(wsgisession.__version__, str)
        assert wsgisession.__version__

    def test_py_typed_ships_in_the_package(self) -> None:
        package = Path(wsgisession.__file__).parent
        assert (package / "py.typed").is_file()


# Logging.


class TestLogging:
    def test_debug_records_at_decisions(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="wsgisession")
        make_client(counting_view).get("/")
        ours = [record for record in caplog.records if record.name.startswith("wsgisession")]
        assert ours
        assert all(record.levelno == logging.DEBUG for record in ours)

    def test_nothing_at_warning_for_a_normal_request(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        client = make_client(counting_view)
        client.get("/")
        client.get("/")
        assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []

    def test_records_for_a_new_and_a_loaded_session(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="wsgisession")
        client = make_client(counting_view)
        client.get("/")
        first = len(caplog.records)
        assert first > 0
        client.get("/")
        assert len(caplog.records) > first

    def test_bad_cookie_is_a_debug_record(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="wsgisession")
        client = make_client(counting_view)
        client.set_cookie("connect.sid", "s%3Aforged.signature")
        response = client.get("/")
        assert response.status_code == 200
        assert response.get_data() == b"1"
        ours = [record for record in caplog.records if record.name.startswith("wsgisession")]
        assert ours
        assert max(record.levelno for record in ours) == logging.DEBUG

    def test_session_id_is_not_logged_in_full(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="wsgisession")
        client = make_client(counting_view)
        sid = sid_from(client.get("/"))
        client.get("/")
        assert sid is not None
        assert caplog.records
        assert all(sid not in record.getMessage() for record in caplog.records)

    def test_no_records_without_debug(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="wsgisession")
        make_client(counting_view).get("/")
        assert [r for r in caplog.records if r.name.startswith("wsgisession")] == []


def test_deprecation_warning_points_at_the_caller() -> None:
    with pytest.warns(DeprecationWarning, match="save_uninitialized") as caught:
        SessionMiddleware(app, secret="s", resave=False)
    assert caught[0].filename == __file__
