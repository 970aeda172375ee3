"""The examples in examples/, driven the way their users drive them.

In process, each example is imported afresh from examples/ for each test, with
its SQLite file (``SESSION_DB``) in the test's tmp_path, and driven through
werkzeug's Client (Flask's test client for flask_app.py, and the wrapped
Django application through werkzeug's Client). The slow tests start each
example with the one command its docstring gives, on a free port, and talk
to it over HTTP with a cookie jar.
"""

from __future__ import annotations

import ast
import contextlib
import html
import importlib
import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http.client import HTTPConnection
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client, TestResponse

from wsgisession import MemoryStore, SessionMiddleware, SQLiteStore

from .conftest import expected_cookie_value, session_cookie, sid_from, unique_name

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REPO = EXAMPLES.parent
DJANGO_SITE = EXAMPLES / "django_site"

#: What the examples read from the environment: each test starts without it.
EXAMPLE_ENV = (
    "HOST",
    "PORT",
    "STORE",
    "SESSION_DB",
    "SESSION_SECRET",
    "SESSION_SECRETS",
    "DEBUG",
    "WSGISESSION_STORE",
    "WSGISESSION_REDIS_PREFIX",
    "WEB_CONCURRENCY",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
)
EXAMPLE_MODULES = ("view_counter", "login", "flask_app", "production", "manage", "django_site")

COOKIE = "connect.sid"
LIFETIME = timedelta(seconds=3600)


class Examples:
    """Imports example modules afresh, in the environment a test gives them,
    and closes the SQLite stores they open."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.monkeypatch = monkeypatch
        self.db = tmp_path / "sessions.db"
        for name in EXAMPLE_ENV:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SESSION_DB", str(self.db))
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "django_site.settings")
        monkeypatch.syspath_prepend(str(EXAMPLES))
        monkeypatch.syspath_prepend(str(DJANGO_SITE))
        self.stores: list[SQLiteStore] = []
        opened = self.stores
        init = SQLiteStore.__init__

        def tracking_init(store: SQLiteStore, *args: Any, **kwargs: Any) -> None:
            init(store, *args, **kwargs)
            opened.append(store)

        monkeypatch.setattr(SQLiteStore, "__init__", tracking_init)

    def load(self, name: str, **env: str) -> Any:
        """Import the example module ``name`` anew, with ``env`` set."""
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)
        self.forget()
        return importlib.import_module(name)

    def forget(self) -> None:
        for module in list(sys.modules):
            if module.split(".")[0] in EXAMPLE_MODULES:
                del sys.modules[module]

    def close(self) -> None:
        self.forget()
        for store in self.stores:
            store.close()


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Examples]:
    loader = Examples(monkeypatch, tmp_path)
    yield loader
    loader.close()


# Reading the pages.


def element(body: str, element_id: str) -> str | None:
    """The inner HTML of the element with ``id``, or ``None``."""
    match = re.search(rf'<(\w+)[^>]*\sid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', body, re.S)
    return None if match is None else match.group(2)


def text_of(body: str, element_id: str) -> str:
    """The text of the element with ``id``, which must be on the page."""
    inner = element(body, element_id)
    assert inner is not None, f"no #{element_id} on the page:\n{body}"
    return html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()


def views(response: TestResponse) -> int:
    return int(text_of(response.text, "views"))


def flashes(response: TestResponse) -> list[str]:
    inner = element(response.text, "flash")
    assert inner is not None, f"no #flash on the page:\n{response.text}"
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", inner, re.S)]


def cookie_attributes(header: str) -> dict[str, str]:
    """The attributes of a Set-Cookie header, names lower-cased; flags map to ''."""
    attributes = {}
    for part in header.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def the_session_cookie(response: TestResponse) -> dict[str, str]:
    header = session_cookie(response)
    assert header is not None, f"no session cookie in {response.headers}"
    return cookie_attributes(header)


def assert_lasts_an_hour(attributes: dict[str, str]) -> None:
    """The cookie expires an hour from now, sent as Expires (never Max-Age)."""
    assert "max-age" not in attributes
    left = parsedate_to_datetime(attributes["expires"]) - datetime.now(timezone.utc)
    assert LIFETIME - timedelta(seconds=60) < left <= LIFETIME


def assert_example_cookie(attributes: dict[str, str], *, secure: bool = False) -> None:
    """The attributes every example's session cookie has."""
    assert attributes["path"] == "/"
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert ("secure" in attributes) is secure
    assert_lasts_an_hour(attributes)


def cookie_cleared(response: TestResponse) -> bool:
    header = session_cookie(response)
    return header is not None and header.startswith(f"{COOKIE}=;") and "1970" in header


def cookie_value(client: Client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "the client holds no session cookie"
    return cookie.value


def cookie_value_of(response: TestResponse) -> str:
    """The value of the session cookie the response sets."""
    header = session_cookie(response)
    assert header is not None
    return header.split(";", 1)[0].split("=", 1)[1]


def stored(store: Any, sid: str | None) -> dict[str, Any]:
    """The record ``store`` holds for ``sid``, which must be there."""
    assert sid is not None
    record: dict[str, Any] | None = store.get(sid)
    assert record is not None, f"no session {sid} in the store"
    return record


def client_with_cookie(app: Any, value: str) -> Client:
    """A new browser holding only the session cookie ``value``."""
    client = Client(app)
    client.set_cookie(COOKIE, value)
    return client


# The examples, in process.


class TestViewCounter:
    def test_counts_one_two_three_in_one_session(self, examples: Examples) -> None:
        client = Client(examples.load("view_counter").app)
        pages = [client.get("/") for _ in range(3)]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assert [views(page) for page in pages] == [1, 2, 3]
        assert {text_of(page.text, "sid") for page in pages} == {sid_from(pages[0])}

    def test_cookie_attributes(self, examples: Examples) -> None:
        response = Client(examples.load("view_counter").app).get("/")
        attributes = the_session_cookie(response)
        assert_example_cookie(attributes)
        shown = datetime.fromisoformat(text_of(response.text, "expires"))
        sent = parsedate_to_datetime(attributes["expires"])
        assert abs(shown - sent) < timedelta(seconds=1)
        assert response.headers["Vary"] == "Cookie"

    def test_cookie_is_secure_on_an_https_request(self, examples: Examples) -> None:
        client = Client(examples.load("view_counter").app)
        response = client.get("/", base_url="https://localhost/")
        assert_example_cookie(the_session_cookie(response), secure=True)

    def test_reset_destroys_the_session(self, examples: Examples) -> None:
        module = examples.load("view_counter")
        client = Client(module.app)
        first = client.get("/")
        client.get("/")
        reset = client.get("/reset")
        assert reset.status_code == 303
        assert reset.headers["Location"] == "/"
        assert cookie_cleared(reset)
        assert module.app.store.length() == 0
        again = client.get("/")
        assert views(again) == 1
        assert sid_from(again) != sid_from(first)

    def test_other_paths_are_not_found_and_cost_no_session(self, examples: Examples) -> None:
        module = examples.load("view_counter")
        response = Client(module.app).get("/favicon.ico")
        assert response.status_code == 404
        assert session_cookie(response) is None
        assert module.app.store.length() == 0

    def test_counts_survive_a_new_process_on_the_same_file(self, examples: Examples) -> None:
        client = Client(examples.load("view_counter").app)
        client.get("/")
        client.get("/")
        # Another process, as after a restart: a new app and store, the same file.
        restarted = examples.load("view_counter").app
        assert isinstance(restarted.store, SQLiteStore)
        assert restarted.store.path == str(examples.db)
        assert views(client_with_cookie(restarted, cookie_value(client)).get("/")) == 3

    def test_store_memory_keeps_sessions_in_the_process(self, examples: Examples) -> None:
        module = examples.load("view_counter", STORE="memory")
        assert isinstance(module.app.store, MemoryStore)
        client = Client(module.app)
        assert [views(client.get("/")) for _ in range(2)] == [1, 2]
        assert not examples.db.exists()

    def test_create_app_takes_a_store(self, examples: Examples) -> None:
        store = MemoryStore()
        client = Client(examples.load("view_counter").create_app(store))
        client.get("/")
        assert store.length() == 1

    def test_importing_the_module_opens_no_database(self, examples: Examples) -> None:
        module = examples.load("view_counter")
        assert not examples.db.exists()
        assert isinstance(module.app, SessionMiddleware)
        assert module.app is module.app
        assert examples.db.exists()
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = module.no_such_name

    def test_secret_comes_from_the_environment(self, examples: Examples) -> None:
        response = Client(examples.load("view_counter", SESSION_SECRET="sekrit").app).get("/")
        sid = sid_from(response)
        assert sid is not None
        header = session_cookie(response)
        assert header is not None
        assert header.startswith(f"{COOKIE}={expected_cookie_value(sid, 'sekrit')};")


def log_in(client: Client, username: str = "alice", password: str = "wonderland") -> TestResponse:
    return client.post("/login", data={"username": username, "password": password})


class TestLogin:
    def test_home_before_logging_in_costs_no_session(self, examples: Examples) -> None:
        module = examples.load("login")
        response = Client(module.app).get("/")
        assert response.status_code == 200
        assert text_of(response.text, "status") == "Not logged in"
        assert text_of(response.text, "sid")
        assert flashes(response) == []
        assert element(response.text, "bye") is None
        assert session_cookie(response) is None
        assert module.app.store.length() == 0

    def test_login_form(self, examples: Examples) -> None:
        page = Client(examples.load("login").app).get("/login").text
        form = re.search(r"<form([^>]*)>(.*?)</form>", page, re.S)
        assert form is not None
        assert 'method="post"' in form.group(1)
        assert 'action="/login"' in form.group(1)
        assert re.search(r'<input name="username"', form.group(2))
        assert re.search(r'<input name="password" type="password"', form.group(2))
        assert re.search(r'<button id="submit" type="submit">', form.group(2))

    def test_login_regenerates_the_session_id(self, examples: Examples) -> None:
        module = examples.load("login")
        client = Client(module.app)
        # A session before logging in: a refused visit leaves a message in it.
        refused = client.get("/private")
        before = sid_from(refused)
        assert before is not None
        logged_in = log_in(client)
        assert logged_in.status_code == 303
        assert logged_in.headers["Location"] == "/private"
        after = sid_from(logged_in)
        assert after is not None
        assert after != before
        private = client.get("/private")
        assert private.status_code == 200
        assert text_of(private.text, "secret") == "The cake is a lie"
        assert text_of(private.text, "sid") == after
        assert text_of(private.text, "previous-sid") == before
        # The id from before login is gone from the store: a browser (or an
        # attacker who planted it) still holding it is not logged in.
        assert module.app.store.get(before) is None
        assert stored(module.app.store, after)["user"] == "alice"
        planted = client_with_cookie(module.app, expected_cookie_value(before, module.DEV_SECRET))
        assert planted.get("/private").status_code == 303

    def test_login_from_a_new_browser_shows_both_ids(self, examples: Examples) -> None:
        client = Client(examples.load("login").app)
        log_in(client)
        private = client.get("/private")
        assert text_of(private.text, "previous-sid")
        assert text_of(private.text, "previous-sid") != text_of(private.text, "sid")

    def test_flash_is_shown_once(self, examples: Examples) -> None:
        client = Client(examples.load("login").app)
        log_in(client)
        assert flashes(client.get("/private")) == ["Welcome, alice"]
        assert flashes(client.get("/private")) == []
        home = client.get("/")
        assert text_of(home.text, "status") == "Logged in as alice"
        assert flashes(home) == []

    @pytest.mark.parametrize(
        ("username", "password"),
        [
            pytest.param("alice", "looking-glass", id="wrong-password"),
            pytest.param("bob", "wonderland", id="unknown-user"),
            pytest.param("", "", id="empty"),
        ],
    )
    def test_bad_credentials(self, examples: Examples, username: str, password: str) -> None:
        client = Client(examples.load("login").app)
        response = log_in(client, username, password)
        assert response.status_code == 303
        assert response.headers["Location"] == "/login"
        page = client.get("/login")
        assert flashes(page) == ["Wrong username or password"]
        assert flashes(client.get("/login")) == []
        assert text_of(client.get("/").text, "status") == "Not logged in"
        assert client.get("/private").status_code == 303

    def test_private_page_refuses_a_visitor(self, examples: Examples) -> None:
        client = Client(examples.load("login").app)
        response = client.get("/private")
        assert response.status_code == 303
        assert response.headers["Location"] == "/login"
        assert "The cake is a lie" not in response.text
        assert flashes(client.get("/login")) == ["Please log in first"]

    def test_logout_ends_the_session(self, examples: Examples) -> None:
        module = examples.load("login")
        client = Client(module.app)
        log_in(client)
        assert client.get("/private").status_code == 200
        logged_in_cookie = cookie_value(client)
        logout = client.post("/logout")
        assert logout.status_code == 303
        assert logout.headers["Location"] == "/?bye=1"
        assert cookie_cleared(logout)
        assert module.app.store.length() == 0
        home = client.get("/?bye=1")
        assert text_of(home.text, "bye") == "You have logged out"
        assert text_of(home.text, "status") == "Not logged in"
        assert client.get("/private").status_code == 303
        # The cookie the browser had is worthless now.
        replayed = client_with_cookie(module.app, logged_in_cookie).get("/private")
        assert replayed.status_code == 303

    def test_private_page_has_the_logout_button(self, examples: Examples) -> None:
        client = Client(examples.load("login").app)
        log_in(client)
        page = client.get("/private").text
        assert re.search(
            r'<form method="post" action="/logout"><button id="logout" type="submit">', page
        )

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            pytest.param("GET", "/logout", id="get-logout"),
            pytest.param("POST", "/", id="post-home"),
        ],
    )
    def test_wrong_method(self, examples: Examples, method: str, path: str) -> None:
        response = Client(examples.load("login").app).open(path, method=method)
        assert response.status_code == 405

    def test_unknown_path(self, examples: Examples) -> None:
        assert Client(examples.load("login").app).get("/admin").status_code == 404

    def test_cookie_attributes(self, examples: Examples) -> None:
        client = Client(examples.load("login").app)
        assert_example_cookie(the_session_cookie(log_in(client)))


class TestFlaskApp:
    def test_counts_one_two_three(self, examples: Examples) -> None:
        client = examples.load("flask_app").app.test_client()
        pages = [client.get("/") for _ in range(3)]
        assert [views(page) for page in pages] == [1, 2, 3]
        assert {text_of(page.text, "sid") for page in pages} == {sid_from(pages[0])}
        assert_example_cookie(the_session_cookie(pages[0]))

    def test_sessions_are_kept_by_wsgisession_in_sqlite(self, examples: Examples) -> None:
        app = examples.load("flask_app").app
        middleware = app.extensions["wsgisession"]
        assert app.wsgi_app is middleware
        assert isinstance(middleware.store, SQLiteStore)
        assert middleware.store.path == str(examples.db)
        client = app.test_client()
        sid = sid_from(client.get("/"))
        assert sid is not None
        assert stored(middleware.store, sid)["views"] == 1
        # Another process on the same file sees it.
        restarted = examples.load("flask_app").app.test_client()
        restarted.set_cookie(COOKIE, cookie_value(client))
        assert views(restarted.get("/")) == 2

    def test_reset_destroys_the_session(self, examples: Examples) -> None:
        app = examples.load("flask_app").app
        client = app.test_client()
        first = client.get("/")
        reset = client.get("/reset")
        assert reset.status_code == 303
        assert reset.headers["Location"] == "/"
        assert cookie_cleared(reset)
        assert app.extensions["wsgisession"].store.length() == 0
        again = client.get("/")
        assert views(again) == 1
        assert sid_from(again) != sid_from(first)


class TestDjangoSite:
    def test_counts_one_two_three(self, examples: Examples) -> None:
        client = Client(examples.load("django_site.wsgi").application)
        pages = [client.get("/") for _ in range(3)]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assert [views(page) for page in pages] == [1, 2, 3]
        assert {text_of(page.text, "sid") for page in pages} == {sid_from(pages[0])}
        assert_example_cookie(the_session_cookie(pages[0]))

    def test_the_wrapped_application_keeps_sessions_in_sqlite(self, examples: Examples) -> None:
        application = examples.load("django_site.wsgi").application
        assert isinstance(application, SessionMiddleware)
        assert isinstance(application.store, SQLiteStore)
        assert application.store.path == str(examples.db)
        sid = sid_from(Client(application).get("/"))
        assert stored(application.store, sid)["views"] == 1

    def test_reset_destroys_the_session(self, examples: Examples) -> None:
        application = examples.load("django_site.wsgi").application
        client = Client(application)
        client.get("/")
        reset = client.get("/reset")
        assert reset.status_code == 303
        assert reset.headers["Location"] == "/"
        assert cookie_cleared(reset)
        assert application.store.length() == 0
        assert views(client.get("/")) == 1

    def test_unknown_path_is_djangos_404_without_a_session(self, examples: Examples) -> None:
        application = examples.load("django_site.wsgi").application
        response = Client(application).get("/nowhere")
        assert response.status_code == 404
        assert session_cookie(response) is None
        assert application.store.length() == 0

    def test_needs_no_database_and_no_apps(self, examples: Examples) -> None:
        settings = examples.load("django_site.settings")
        assert settings.DATABASES == {}
        assert settings.INSTALLED_APPS == []
        assert settings.WSGI_APPLICATION == "django_site.wsgi.application"


class TestProduction:
    def test_proxy_fix_runs_first(self, examples: Examples) -> None:
        app = examples.load("production", SESSION_SECRETS="s3cret").app
        assert isinstance(app, ProxyFix)
        assert isinstance(app.app, SessionMiddleware)

    def test_cookie_is_secure_when_the_proxy_says_https(self, examples: Examples) -> None:
        app = examples.load("production", SESSION_SECRETS="s3cret").app
        secure = Client(app).get("/", headers={"X-Forwarded-Proto": "https"})
        assert_example_cookie(the_session_cookie(secure), secure=True)
        plain = Client(app).get("/")
        assert_example_cookie(the_session_cookie(plain), secure=False)
        spoofed_scheme = Client(app).get("/", headers={"X-Forwarded-Proto": "http"})
        assert_example_cookie(the_session_cookie(spoofed_scheme), secure=False)

    def test_without_proxy_fix_the_header_would_not_count(self, examples: Examples) -> None:
        # What ProxyFix is for: the session middleware on its own (proxy=None)
        # trusts only wsgi.url_scheme, which the header does not change.
        inner = examples.load("production", SESSION_SECRETS="s3cret").app.app
        response = Client(inner).get("/", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in the_session_cookie(response)

    def test_a_secure_session_over_https_keeps_counting(self, examples: Examples) -> None:
        app = examples.load("production", SESSION_SECRETS="s3cret").app
        client = Client(app)
        headers = {"X-Forwarded-Proto": "https"}
        assert [views(client.get("/", headers=headers)) for _ in range(3)] == [1, 2, 3]

    def test_secret_rotation(self, examples: Examples) -> None:
        old = examples.load("production", SESSION_SECRETS="old-secret").app
        browser = Client(old)
        first = browser.get("/")
        sid = sid_from(first)
        assert sid is not None
        signed_with_old = cookie_value(browser)
        assert signed_with_old == expected_cookie_value(sid, "old-secret")
        # Deployed with a new secret first and the old one second: the old
        # cookie still works, and the cookie sent back is signed with the new one.
        rotated = examples.load("production", SESSION_SECRETS="new-secret, old-secret").app
        browser = client_with_cookie(rotated, signed_with_old)
        second = browser.get("/")
        assert views(second) == 2
        assert sid_from(second) == sid
        assert cookie_value(browser) == expected_cookie_value(sid, "new-secret")
        assert views(browser.get("/")) == 3
        # Once the old secret is dropped, its cookies start a new session.
        dropped = examples.load("production", SESSION_SECRETS="new-secret").app
        fresh = client_with_cookie(dropped, signed_with_old).get("/")
        assert views(fresh) == 1
        assert sid_from(fresh) != sid

    def test_secrets_list_is_trimmed(self, examples: Examples) -> None:
        module = examples.load("production", SESSION_SECRETS="s3cret")
        assert module.session_secrets({"SESSION_SECRETS": " a , ,b,"}) == ["a", "b"]

    @pytest.mark.parametrize("value", [None, "", " , "], ids=["unset", "empty", "blank"])
    def test_refuses_to_start_without_secrets(self, examples: Examples, value: str | None) -> None:
        env = {} if value is None else {"SESSION_SECRETS": value}
        with pytest.raises(RuntimeError, match="SESSION_SECRETS is not set"):
            examples.load("production", **env)

    def test_debug_uses_a_development_secret_and_warns(self, examples: Examples) -> None:
        with pytest.warns(RuntimeWarning, match="development secret"):
            module = examples.load("production", DEBUG="1")
        response = Client(module.app).get("/")
        sid = sid_from(response)
        assert sid is not None
        assert cookie_value_of(response) == expected_cookie_value(sid, module.DEV_SECRET)

    def test_sqlite_store_by_default(self, examples: Examples) -> None:
        store = examples.load("production", SESSION_SECRETS="s3cret").app.app.store
        assert isinstance(store, SQLiteStore)
        assert store.path == str(examples.db)

    def test_redis_store(self, examples: Examples, redis_url: str) -> None:
        import redis

        prefix = unique_name("wsgisession-test:examples:")
        module = examples.load(
            "production",
            SESSION_SECRETS="s3cret",
            WSGISESSION_STORE="redis",
            REDIS_URL=redis_url,
            WSGISESSION_REDIS_PREFIX=prefix,
        )
        store = module.app.app.store
        server = redis.Redis.from_url(redis_url)
        try:
            assert type(store).__name__ == "RedisStore"
            client = Client(module.app)
            first = client.get("/")
            assert [views(first), views(client.get("/"))] == [1, 2]
            sid = sid_from(first)
            assert sid is not None
            assert [key.decode() for key in server.scan_iter(match=prefix + "*")] == [prefix + sid]
            value = server.get(prefix + sid)
            assert isinstance(value, bytes)
            assert json.loads(value)["views"] == 2
            assert 3500_000 < server.pttl(prefix + sid) <= 3600_000
        finally:
            for key in server.scan_iter(match=prefix + "*"):
                server.delete(key)
            server.close()
            store.close()

    def test_unknown_store_is_refused(self, examples: Examples) -> None:
        with pytest.raises(RuntimeError, match="WSGISESSION_STORE must be 'sqlite' or 'redis'"):
            examples.load("production", SESSION_SECRETS="s3cret", WSGISESSION_STORE="mongo")


class TestGunicornConf:
    def test_settings_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HOST", "0.0.0.0")
        monkeypatch.setenv("PORT", "9001")
        monkeypatch.setenv("WEB_CONCURRENCY", "5")
        settings = runpy.run_path(str(EXAMPLES / "gunicorn.conf.py"))
        assert settings["bind"] == "0.0.0.0:9001"
        assert settings["workers"] == 5

    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("HOST", "PORT", "WEB_CONCURRENCY"):
            monkeypatch.delenv(name, raising=False)
        settings = runpy.run_path(str(EXAMPLES / "gunicorn.conf.py"))
        assert settings["bind"] == "127.0.0.1:8000"
        assert settings["workers"] == 2
        assert settings["wsgi_app"] == "production:app"
        assert Path(settings["pythonpath"]) == EXAMPLES


# Every page.


def _login_pages(client: Client) -> list[TestResponse]:
    pages = [client.get("/"), client.get("/login")]
    log_in(client)
    return [*pages, client.get("/private"), client.get("/")]


PAGES: dict[str, Callable[[Any], list[TestResponse]]] = {
    "view_counter": lambda module: [Client(module.app).get("/")],
    "login": lambda module: _login_pages(Client(module.app)),
    "flask_app": lambda module: [module.app.test_client().get("/")],
    "django_site.wsgi": lambda module: [Client(module.application).get("/")],
    "production": lambda module: [Client(module.app).get("/")],
}

VOID = {"meta", "input", "br", "hr", "img", "link"}


class PageChecker(HTMLParser):
    """Checks that the tags of a page nest and close, and collects ids and the title."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.ids: list[str] = []
        self.title = ""
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.extend(value for name, value in attrs if name == "id" and value)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "title":
            self.title += data


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_are_valid_self_contained_html(examples: Examples, name: str) -> None:
    module = examples.load(name, SESSION_SECRETS="s3cret")
    for response in PAGES[name](module):
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        page = response.text
        assert page.startswith('<!doctype html>\n<html lang="en">')
        assert '<meta charset="utf-8">' in page
        checker = PageChecker()
        checker.feed(page)
        checker.close()
        assert checker.errors == []
        assert checker.open == []
        assert checker.title.strip()
        assert len(checker.ids) == len(set(checker.ids)), f"duplicate ids: {checker.ids}"
        # No external resources: no scripts, images, stylesheets or fonts to fetch.
        for reference in ("<script", "<img", "<link", "src=", "url(", "@import", "//"):
            assert reference not in page, reference


# The run commands in the docstrings.

COMMANDS = {
    "view_counter.py": "python examples/view_counter.py",
    "login.py": "python examples/login.py",
    "flask_app.py": "python examples/flask_app.py",
    "django_site/manage.py": "python examples/django_site/manage.py runserver 127.0.0.1:8000",
    "production.py": "gunicorn -c examples/gunicorn.conf.py",
    "gunicorn.conf.py": "gunicorn -c examples/gunicorn.conf.py",
}


@pytest.mark.parametrize("path", list(COMMANDS))
def test_docstring_gives_the_run_command(path: str) -> None:
    docstring = ast.get_docstring(ast.parse((EXAMPLES / path).read_text()))
    assert docstring is not None
    assert f"Run: ``{COMMANDS[path]}``" in docstring or (
        f"Run (from the repository root): ``{COMMANDS[path]}``" in docstring
    )


# Served for real, by the command each example gives.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """An example started with its command, in a process group of its own
    (Django's autoreloader runs the server in a child process)."""

    def __init__(
        self, command: list[str], env: dict[str, str], log: Path, port: int | None = None
    ) -> None:
        self.command = command
        self.port = free_port() if port is None else port
        self.env = {**env, "PORT": str(self.port)}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.command} exited with {self.process.returncode}:\n{self.output}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{self.command} not listening after {timeout} s:\n{self.output}")
                time.sleep(0.1)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait(5)
        # The rest of the group (an autoreloader's child) goes with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Browser:
    """An HTTP client with a cookie jar, following redirects."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=15) as response:
            assert response.status == 200
            body: bytes = response.read()
            return body.decode()

    def post(self, url: str, form: dict[str, str]) -> str:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(url, data=data, timeout=15) as response:
            assert response.status == 200
            body: bytes = response.read()
            return body.decode()


def page_views(page: str) -> int:
    return int(text_of(page, "views"))


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start examples as servers; all are stopped at the end of the test."""
    started: list[Server] = []
    base = {key: value for key, value in os.environ.items() if key not in EXAMPLE_ENV}
    base.update(
        SESSION_DB=str(tmp_path / "sessions.db"),
        PYTHONUNBUFFERED="1",
        # gunicorn's control socket, in this test's own directory.
        XDG_RUNTIME_DIR=str(tmp_path),
    )

    def start(command: list[str], port: int | None = None, **env: str) -> Server:
        log = tmp_path / f"server{len(started)}.log"
        server = Server(command, {**base, **env}, log, port)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "examples/gunicorn.conf.py"]


@pytest.mark.slow
class TestServed:
    @pytest.mark.parametrize(
        "command",
        [
            pytest.param([sys.executable, "examples/view_counter.py"], id="view_counter"),
            pytest.param([sys.executable, "examples/flask_app.py"], id="flask_app"),
            pytest.param(
                [sys.executable, "examples/django_site/manage.py", "runserver"], id="django_site"
            ),
        ],
    )
    def test_counts_with_its_command(self, serve: Any, command: list[str]) -> None:
        server = serve(command)
        browser = Browser()
        assert page_views(browser.get(server.url + "/")) == 1
        assert page_views(browser.get(server.url + "/")) == 2

    def test_login_with_its_command(self, serve: Any) -> None:
        server = serve([sys.executable, "examples/login.py"])
        browser = Browser()
        credentials = {"username": "alice", "password": "wonderland"}
        private = browser.post(server.url + "/login", credentials)
        assert text_of(private, "secret") == "The cake is a lie"
        assert text_of(private, "previous-sid") != text_of(private, "sid")
        home = browser.post(server.url + "/logout", {})
        assert text_of(home, "bye") == "You have logged out"
        assert "Please log in first" in browser.get(server.url + "/private")

    def test_view_counter_count_survives_a_restart(self, serve: Any) -> None:
        command = [sys.executable, "examples/view_counter.py"]
        browser = Browser()
        first = serve(command)
        assert page_views(browser.get(first.url + "/")) == 1
        assert page_views(browser.get(first.url + "/")) == 2
        first.stop()
        # The same port, so that the browser's cookie goes to the new server.
        second = serve(command, port=first.port)
        assert page_views(browser.get(second.url + "/")) == 3

    def test_gunicorn_workers_share_sessions(self, serve: Any) -> None:
        server = serve(GUNICORN, SESSION_SECRETS="s3cret,older")
        browser = Browser()
        assert [page_views(browser.get(server.url + "/")) for _ in range(6)] == [1, 2, 3, 4, 5, 6]
        # WEB_CONCURRENCY's default: two workers (each logs as it boots).
        deadline = time.monotonic() + 15
        while server.output.count("Booting worker with pid") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.output.count("Booting worker with pid") == 2

    def test_gunicorn_cookie_is_secure_behind_an_https_proxy(self, serve: Any) -> None:
        server = serve(GUNICORN, SESSION_SECRETS="s3cret")
        for proto, secure in (("https", True), (None, False)):
            connection = HTTPConnection("127.0.0.1", server.port, timeout=15)
            try:
                headers = {} if proto is None else {"X-Forwarded-Proto": proto}
                connection.request("GET", "/", headers=headers)
                response = connection.getresponse()
                response.read()
                header = response.getheader("Set-Cookie")
            finally:
                connection.close()
            assert header is not None
            assert_example_cookie(cookie_attributes(header), secure=secure)

    def test_gunicorn_refuses_to_start_without_secrets(self, tmp_path: Path) -> None:
        env = {key: value for key, value in os.environ.items() if key not in EXAMPLE_ENV}
        env.update(PORT=str(free_port()), XDG_RUNTIME_DIR=str(tmp_path))
        result = subprocess.run(
            GUNICORN,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0
        assert b"SESSION_SECRETS is not set" in result.stdout + result.stderr


class TestLoginCrossSite:
    """A login form posted from another site (login CSRF) is refused."""

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({"Sec-Fetch-Site": "cross-site"}, id="sec-fetch-site"),
            pytest.param({"Origin": "http://evil.example"}, id="foreign-origin"),
        ],
    )
    def test_refused(self, examples: Examples, headers: dict[str, str]) -> None:
        client = Client(examples.load("login").app)
        form = {"username": "alice", "password": "wonderland"}
        response = client.post("/login", data=form, headers=headers)
        assert response.status_code == 403
        assert client.get_cookie("connect.sid") is None

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({"Sec-Fetch-Site": "same-origin"}, id="sec-fetch-site"),
            pytest.param({"Origin": "http://localhost"}, id="same-origin"),
            pytest.param({}, id="no-headers"),
        ],
    )
    def test_allowed(self, examples: Examples, headers: dict[str, str]) -> None:
        client = Client(examples.load("login").app)
        form = {"username": "alice", "password": "wonderland"}
        response = client.post("/login", data=form, headers=headers)
        assert response.status_code == 303
        assert response.headers["Location"] == "/private"
