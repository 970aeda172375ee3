"""End-to-end tests in a real browser: headless Chromium driven by Playwright.

The examples run as real servers on free ports of 127.0.0.1 (werkzeug's
development server via ``python examples/...``, Django's ``runserver``, and
gunicorn with two workers); the cookie cases the examples do not cover run
from :mod:`tests.browser_apps` in a thread. One browser serves the module and
each test gets a fresh context (its own cookie jar).

The browser is Debian's ``chromium`` at ``/usr/bin/chromium``; Playwright's
own browser download does not work on these machines. Without it the tests
skip, and ``.ci/run`` (``WSGISESSION_REQUIRE_ALL=1``) turns the skips into
failures. Screenshots of the example pages go to ``$WSGISESSION_SCREENSHOTS``
or ``<pytest's base temp>/screenshots``; the folder is printed.

Chromium takes ``Secure`` cookies from http://127.0.0.1 (it counts as a secure
origin), so the tests on Secure cookies over plain http test that the server
withholds them, which is what wsgisession promises.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests import browser_apps

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Cookie, Page

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COOKIE = "connect.sid"
SECRET = "browser tests: the examples' secret"
MAX_AGE = 3600
# Every wait is bounded: servers get this long to start or stop ...
SERVER_TIMEOUT = 30.0
# ... and the browser this long (milliseconds) for a page or an action.
PAGE_TIMEOUT_MS = 20_000


# -- servers -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_example(relative: str) -> Path:
    path = EXAMPLES / relative
    if not path.exists():
        pytest.skip(f"examples/{relative} does not exist (yet)")
    return path


class ServerProcess:
    """A server run as a subprocess in a process group of its own, its output
    going to a log file. ``start`` waits until it accepts connections."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.argv, self.env, self.port, self.log = name, argv, env, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def fail(self, message: str) -> None:
        tail = "\n".join(self.log_text().splitlines()[-40:])
        pytest.fail(f"{self.name}: {message}\n--- {self.log} (last lines):\n{tail}")

    def start(self) -> None:
        assert self.proc is None, "already running"
        self._log_file = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._reap()
                self.fail(f"exited with status {code} before accepting connections")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                self.fail(f"not accepting connections on port {self.port} after {SERVER_TIMEOUT}s")
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        """Stop it (SIGTERM; SIGKILL with ``kill=True`` or when it does not go),
        and whatever it started in its process group."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            if kill:
                proc.kill()
            else:
                proc.terminate()
            try:
                proc.wait(timeout=SERVER_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=SERVER_TIMEOUT)
        # Its own group (start_new_session): workers left behind, if any.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.wait(timeout=SERVER_TIMEOUT)
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self, *, kill: bool = False, **env: str) -> None:
        """Stop it (SIGKILL with ``kill=True``) and start it again on the same
        port, with ``env`` changed."""
        self.stop(kill=kill)
        self.env.update(env)
        self.start()


class Servers:
    """Starts servers on free ports and stops every one of them at ``close``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.started: list[ServerProcess] = []

    def start(self, name: str, argv: list[str], **env: str) -> ServerProcess:
        port = free_port()
        environment = dict(os.environ)
        environment.update(
            {
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "SESSION_SECRET": SECRET,
                "SESSION_DB": str(self.directory / f"{name}-sessions.db"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        environment.update(env)
        argv = [a.replace("{port}", str(port)) for a in argv]
        server = ServerProcess(name, argv, environment, port, self.directory / f"{name}.log")
        self.started.append(server)
        server.start()
        return server

    def example(self, script: str, **env: str) -> ServerProcess:
        """``python examples/<script>``, on werkzeug's server."""
        path = require_example(script)
        return self.start(path.stem, [sys.executable, str(path)], **env)

    def close(self) -> None:
        for server in reversed(self.started):
            server.stop()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    pool = Servers(tmp_path)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def module_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    pool = Servers(tmp_path_factory.mktemp("browser-servers"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def view_counter(module_servers: Servers) -> ServerProcess:
    """``examples/view_counter.py``, shared by the tests that only read it."""
    return module_servers.example("view_counter.py")


@pytest.fixture(scope="module")
def login_server(module_servers: Servers) -> ServerProcess:
    return module_servers.example("login.py")


# -- browser -----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package"
            " (apt-get install -y chromium); Playwright's own browser download does not work here"
        )
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright Python package is not installed (pip install playwright)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


ContextFactory = Callable[..., "BrowserContext"]


@pytest.fixture
def new_context(browser: Browser) -> Iterator[ContextFactory]:
    """Make fresh browser contexts (``browser.new_context(**options)``),
    closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 900, "height": 700})
        context = browser.new_context(**options)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def context(new_context: ContextFactory) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="module")
def screenshots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the example pages' screenshots go to, printed at setup."""
    configured = os.environ.get("WSGISESSION_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    message = f"browser screenshots: {folder}"
    print(message)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(message)
    return folder


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# -- pages and cookies -------------------------------------------------------


def visit(page: Page, url: str) -> tuple[int, str]:
    """Load ``url``, which must answer 200, and return its ``#views`` and ``#sid``."""
    response = page.goto(url)
    assert response is not None, url
    assert response.status == 200, f"{url}: {response.status}\n{page.content()[:2000]}"
    return int(page.inner_text("#views")), page.inner_text("#sid").strip()


def session_cookie(context: BrowserContext, name: str = COOKIE) -> Cookie | None:
    found = [cookie for cookie in context.cookies() if cookie.get("name") == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def replay(context: BrowserContext, cookie: Cookie) -> None:
    """Put ``cookie``, from another context's jar, into ``context``'s."""
    context.add_cookies(
        [
            {
                "name": cookie.get("name", ""),
                "value": cookie.get("value", ""),
                "domain": cookie.get("domain"),
                "path": cookie.get("path"),
                "expires": cookie.get("expires"),
                "httpOnly": cookie.get("httpOnly"),
                "secure": cookie.get("secure"),
                "sameSite": cookie.get("sameSite"),
            }
        ]
    )


def sid_of(cookie: Cookie) -> str:
    """The session id in a signed cookie value (``s:<sid>.<signature>``, percent-encoded)."""
    value = unquote(cookie.get("value", ""))
    assert value.startswith("s:"), value
    return value[2:].rsplit(".", 1)[0]


def signed_value(sid: str, secret: str) -> str:
    """The cookie value express-session writes for ``sid`` with ``secret``."""
    mac = hmac.new(secret.encode(), sid.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode().rstrip("=")
    return quote(f"s:{sid}.{signature}", safe="-_.!~*'()")


def devtools_cookie(page: Page, name: str = COOKIE) -> dict[str, Any] | None:
    """The cookie as Chromium's DevTools protocol reports it: unlike
    ``context.cookies()`` it tells an explicit SameSite from the default,
    and has Priority."""
    cdp = page.context.new_cdp_session(page)
    try:
        result = cdp.send("Network.getCookies", {"urls": [page.url]})
    finally:
        cdp.detach()
    found = [cookie for cookie in result["cookies"] if cookie["name"] == name]
    assert len(found) <= 1, found
    return found[0] if found else None


def set_cookie_headers(response: Any) -> list[str]:
    return [h["value"] for h in response.headers_array() if h["name"].lower() == "set-cookie"]


def assert_expires_in_an_hour(cookie: Cookie, before: float, after: float) -> None:
    # Expires is an HTTP date, whole seconds: allow for the truncation.
    expires = cookie.get("expires", -1)
    assert before + MAX_AGE - 2 <= expires <= after + MAX_AGE + 1, (expires, before, after)


# -- the view counter --------------------------------------------------------


def test_view_counter_counts_and_survives_a_restart(
    servers: Servers, page: Page, screenshots: Path
) -> None:
    server = servers.example("view_counter.py")
    counts = []
    sids = set()
    for _ in range(3):
        views, sid = visit(page, server.url + "/")
        counts.append(views)
        sids.add(sid)
    assert counts == [1, 2, 3]
    assert len(sids) == 1
    screenshot(page, screenshots, "view_counter")

    # SIGKILL: what was answered must already be in the SQLite file.
    server.restart(kill=True)
    views, sid = visit(page, server.url + "/")
    assert (views, sid) == (4, *sids)
    server.restart()
    assert visit(page, server.url + "/") == (5, *sids)

    # /reset destroys the session and lands on / with a new one.
    response = page.goto(server.url + "/reset")
    assert response is not None
    assert response.status == 200
    assert urlsplit(page.url).path == "/"
    views, sid = int(page.inner_text("#views")), page.inner_text("#sid").strip()
    assert views == 1
    assert sid not in sids


def test_view_counter_cookie_attributes(
    view_counter: ServerProcess, context: BrowserContext, page: Page
) -> None:
    before = time.time()
    response = page.goto(view_counter.url + "/")
    after = time.time()
    assert response is not None
    assert response.status == 200
    sid = page.inner_text("#sid").strip()

    # HttpOnly: scripts do not see it, though they see a cookie of their own.
    page.evaluate("document.cookie = 'visible=1; path=/'")
    document_cookie = page.evaluate("document.cookie")
    assert "visible=1" in document_cookie
    assert COOKIE not in document_cookie

    cookie = session_cookie(context)
    assert cookie is not None, context.cookies()
    assert sid_of(cookie) == sid
    assert cookie.get("domain") == "127.0.0.1"
    assert cookie.get("path") == "/"
    assert cookie.get("httpOnly") is True
    assert cookie.get("sameSite") == "Lax"
    assert cookie.get("secure") is False  # secure="auto" on plain http
    assert "partitionKey" not in cookie
    assert_expires_in_an_hour(cookie, before, after)

    # The page shows the same expiry the browser keeps.
    shown = datetime.fromisoformat(page.inner_text("#expires").strip()).timestamp()
    assert abs(shown - cookie.get("expires", -1)) < 1.5

    devtools = devtools_cookie(page)
    assert devtools is not None
    assert devtools.get("sameSite") == "Lax"  # sent, not Chromium's default
    assert devtools["session"] is False


@pytest.mark.parametrize("tamper", ["signature", "other-secret", "unsigned", "unknown-id", "junk"])
def test_view_counter_tampered_cookie_gets_a_fresh_session(
    view_counter: ServerProcess, context: BrowserContext, page: Page, tamper: str
) -> None:
    url = view_counter.url + "/"
    visit(page, url)
    assert visit(page, url)[0] == 2
    genuine = session_cookie(context)
    assert genuine is not None
    sid = sid_of(genuine)
    value = genuine.get("value", "")

    if tamper == "signature":
        last = value[-1]
        forged = value[:-1] + ("A" if last != "A" else "B")
    elif tamper == "other-secret":
        forged = signed_value(sid, "not the server's secret")
    elif tamper == "unsigned":
        forged = sid
    elif tamper == "unknown-id":
        # Correctly signed, but no such session: the server must not adopt the id.
        forged = signed_value("planted-by-an-attacker-0123456789", SECRET)
    else:
        forged = "s%3A%E2%98%83%00.." + "x" * 50
    context.clear_cookies()
    context.add_cookies(
        [
            {
                "name": COOKIE,
                "value": forged,
                "domain": "127.0.0.1",
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )

    views, fresh_sid = visit(page, url)
    assert views == 1
    assert fresh_sid != sid
    assert "planted" not in fresh_sid
    fresh = session_cookie(context)
    assert fresh is not None
    assert sid_of(fresh) == fresh_sid

    # The genuine session was not harmed.
    context.clear_cookies()
    replay(context, genuine)
    assert visit(page, url) == (3, sid)


# -- login -------------------------------------------------------------------


def submit_login(page: Page, username: str, password: str) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button#submit")


def test_login_regenerates_and_logout_destroys(
    login_server: ServerProcess,
    new_context: ContextFactory,
    screenshots: Path,
) -> None:
    base = login_server.url
    context = new_context()
    page = context.new_page()

    response = page.goto(base + "/")
    assert response is not None
    assert response.status == 200
    assert "Not logged in" in page.inner_text("#status")

    # The private page refuses a visitor and sends them to the form.
    page.goto(base + "/private")
    assert urlsplit(page.url).path == "/login"
    assert "Please log in first" in page.inner_text("#flash")
    screenshot(page, screenshots, "login_form")

    submit_login(page, "alice", "not the password")
    assert urlsplit(page.url).path == "/login"
    assert "Wrong username or password" in page.inner_text("#flash")
    before_login = session_cookie(context)  # the flash needed a session
    assert before_login is not None

    submit_login(page, "alice", "wonderland")
    assert urlsplit(page.url).path == "/private"
    assert page.inner_text("#secret").strip()
    sid = page.inner_text("#sid").strip()
    previous = page.inner_text("#previous-sid").strip()
    assert previous != sid
    assert previous == sid_of(before_login)
    logged_in = session_cookie(context)
    assert logged_in is not None
    assert logged_in.get("value") != before_login.get("value")
    assert sid_of(logged_in) == sid
    assert logged_in.get("httpOnly") is True
    assert logged_in.get("sameSite") == "Lax"
    screenshot(page, screenshots, "private")

    page.goto(base + "/")
    assert "Logged in as alice" in page.inner_text("#status")

    # Session fixation: the id from before the login opens nothing.
    other = new_context()
    replay(other, before_login)
    other_page = other.new_page()
    other_page.goto(base + "/private")
    assert urlsplit(other_page.url).path == "/login"

    # Logout destroys the session: the cookie goes, and so does the store entry.
    page.goto(base + "/private")
    with page.expect_navigation():
        page.click("button#logout")
    assert urlsplit(page.url).path == "/"
    assert "bye=1" in urlsplit(page.url).query
    assert page.inner_text("#bye").strip()
    assert "Not logged in" in page.inner_text("#status")
    after_logout = session_cookie(context)
    assert after_logout is None or sid_of(after_logout) != sid, after_logout
    screenshot(page, screenshots, "logged_out")

    page.goto(base + "/private")
    assert urlsplit(page.url).path == "/login"
    assert "Please log in first" in page.inner_text("#flash")

    # Replaying the logged-in cookie does not bring the session back.
    replay_context = new_context()
    replay(replay_context, logged_in)
    replay_page = replay_context.new_page()
    replay_page.goto(base + "/private")
    assert urlsplit(replay_page.url).path == "/login"


# -- cookie attributes the examples do not cover ------------------------------


def test_secure_cookie_is_never_set_over_http(context: BrowserContext, page: Page) -> None:
    with browser_apps.serve(browser_apps.secure_app()) as url:
        # Chromium itself takes a Secure cookie from http://127.0.0.1 ...
        page.goto(url + "/control")
        assert session_cookie(context, "control") is not None, context.cookies()
        # ... so it is the server that must withhold its secure=True cookie.
        for _ in range(3):
            response = page.goto(url + "/")
            assert response is not None
            assert response.status == 200
            assert not [h for h in set_cookie_headers(response) if h.startswith(COOKIE + "=")]
            assert page.inner_text("#views") == "1"
            assert session_cookie(context) is None, context.cookies()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        return browser_apps.self_signed_certificate(tmp_path_factory.mktemp("tls"))
    except FileNotFoundError as error:
        pytest.skip(f"cannot make a TLS certificate: {error}")


def test_partitioned_cookie_over_https(
    new_context: ContextFactory, certificate: tuple[Path, Path]
) -> None:
    context = new_context(ignore_https_errors=True)
    page = context.new_page()
    with browser_apps.serve(browser_apps.partitioned_app(), tls=certificate) as url:
        before = time.time()
        views, sid = visit(page, url + "/")
        after = time.time()
        assert views == 1
        assert visit(page, url + "/") == (2, sid)
        assert COOKIE not in page.evaluate("document.cookie")

        cookie = session_cookie(context)
        assert cookie is not None, context.cookies()
        assert sid_of(cookie) == sid
        assert cookie.get("secure") is True
        assert cookie.get("httpOnly") is True
        assert cookie.get("sameSite") == "None"
        assert cookie.get("path") == "/"
        assert_expires_in_an_hour(cookie, before, after)
        # The partition (CHIPS) is the top-level site: Playwright reports it
        # since 1.5x, Chromium's DevTools protocol always.
        if "partitionKey" in cookie:
            assert cookie["partitionKey"] == "https://127.0.0.1", cookie

        devtools = devtools_cookie(page)
        assert devtools is not None
        assert devtools["partitionKey"]["topLevelSite"] == "https://127.0.0.1", devtools
        assert devtools["priority"] == "High"
        assert devtools["sameSite"] == "None"


def test_partitioned_cookie_is_not_set_over_http(context: BrowserContext, page: Page) -> None:
    # Partitioned implies Secure: over plain http the server withholds it.
    with browser_apps.serve(browser_apps.partitioned_app()) as url:
        for _ in range(2):
            response = page.goto(url + "/")
            assert response is not None
            assert response.status == 200
            assert not [h for h in set_cookie_headers(response) if h.startswith(COOKIE + "=")]
            assert page.inner_text("#views") == "1"
        assert session_cookie(context) is None, context.cookies()


# -- frameworks --------------------------------------------------------------


def count_three_times(context: BrowserContext, page: Page, url: str) -> str:
    counts, sids = [], set()
    for _ in range(3):
        views, sid = visit(page, url)
        counts.append(views)
        sids.add(sid)
    assert counts == [1, 2, 3]
    assert len(sids) == 1
    cookie = session_cookie(context)
    assert cookie is not None
    assert sid_of(cookie) in sids
    assert cookie.get("httpOnly") is True
    assert cookie.get("sameSite") == "Lax"
    assert COOKIE not in page.evaluate("document.cookie")
    return sids.pop()


def test_flask_example_counts(
    servers: Servers, context: BrowserContext, page: Page, screenshots: Path
) -> None:
    server = servers.example("flask_app.py")
    count_three_times(context, page, server.url + "/")
    screenshot(page, screenshots, "flask")


def test_django_example_counts(
    servers: Servers, context: BrowserContext, page: Page, screenshots: Path
) -> None:
    manage = require_example("django_site/manage.py")
    server = servers.start(
        "django",
        [sys.executable, str(manage), "runserver", "127.0.0.1:{port}", "--noreload"],
    )
    count_three_times(context, page, server.url + "/")
    screenshot(page, screenshots, "django")


# -- gunicorn ----------------------------------------------------------------

# gunicorn writes each request's worker pid to its access log (%(p)s).
ACCESS_LOG = re.compile(r"^ACCESS pid=<?(\d+)>? (\w+) (\S+) (\d{3})$", re.MULTILINE)
ACCESS_FORMAT = "'ACCESS pid=%(p)s %(m)s %(U)s %(s)s'"
# No control socket: gunicorn 27 opens one at a fixed path in the home folder,
# which two gunicorns at once (two test runs) would fight over.
GUNICORN_CMD_ARGS = f"--no-control-socket --access-logfile - --access-logformat {ACCESS_FORMAT}"


def start_gunicorn(servers: Servers, name: str, **env: str) -> ServerProcess:
    require_example("gunicorn.conf.py")
    env.setdefault("WEB_CONCURRENCY", "2")
    env.setdefault("WSGISESSION_STORE", "sqlite")
    env.setdefault("SESSION_SECRETS", SECRET)
    env.setdefault("GUNICORN_CMD_ARGS", GUNICORN_CMD_ARGS)
    server = servers.start(
        name, [sys.executable, "-m", "gunicorn", "-c", "examples/gunicorn.conf.py"], **env
    )
    workers(server)  # both booted
    return server


def workers(server: ServerProcess, count: int = 2) -> list[int]:
    """The pids of the gunicorn master's workers, once there are ``count``."""
    assert server.proc is not None
    master = server.proc.pid
    children = Path(f"/proc/{master}/task/{master}/children")
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        pids = sorted(int(pid) for pid in children.read_text().split())
        if len(pids) == count:
            return pids
        if time.monotonic() > deadline:
            server.fail(f"has workers {pids} after {SERVER_TIMEOUT}s, not {count}")
        time.sleep(0.1)


def answered_by(server: ServerProcess, requests: int) -> list[int]:
    """The worker pids that answered the first ``requests`` GET / in the
    access log (the log line comes just after the response: wait for it)."""
    deadline = time.monotonic() + SERVER_TIMEOUT
    while True:
        pids = [
            int(match[1])
            for match in ACCESS_LOG.finditer(server.log_text())
            if match[2] == "GET" and match[3] == "/"
        ]
        if len(pids) >= requests:
            return pids[:requests]
        if time.monotonic() > deadline:
            server.fail(f"logged {len(pids)} requests for /, not {requests}")
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "redis"])
def gunicorn_store(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment choosing gunicorn's store: SQLite, or Redis with a key
    prefix of its own (the keys are deleted after)."""
    if request.param == "sqlite":
        yield {"WSGISESSION_STORE": "sqlite"}
        return
    url: str = request.getfixturevalue("redis_url")
    prefix = f"test:browser:{uuid.uuid4().hex}:"
    yield {"WSGISESSION_STORE": "redis", "REDIS_URL": url, "WSGISESSION_REDIS_PREFIX": prefix}
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=100))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_gunicorn_two_workers_share_sessions(
    servers: Servers,
    gunicorn_store: dict[str, str],
    context: BrowserContext,
    page: Page,
    screenshots: Path,
) -> None:
    store = gunicorn_store["WSGISESSION_STORE"]
    server = start_gunicorn(servers, f"gunicorn-{store}", **gunicorn_store)
    first, second = workers(server)
    url = server.url + "/"
    counts: list[int] = []
    sids: set[str] = set()
    expected_pids: list[int | None] = []

    def load(pid: int | None) -> None:
        views, sid = visit(page, url)
        counts.append(views)
        sids.add(sid)
        expected_pids.append(pid)

    load(None)  # either worker
    # A stopped worker accepts nothing: the other one answers, reading the
    # session the first one wrote.
    for busy, idle in ((first, second), (second, first)):
        os.kill(idle, signal.SIGSTOP)
        try:
            load(busy)
            load(busy)
        finally:
            os.kill(idle, signal.SIGCONT)
    for _ in range(3):
        load(None)

    assert counts == list(range(1, len(counts) + 1))
    assert len(sids) == 1
    pids = answered_by(server, len(counts))
    for pid, expected in zip(pids, expected_pids, strict=True):
        assert expected is None or pid == expected, (pids, expected_pids)
    assert set(pids) == {first, second}
    screenshot(page, screenshots, f"gunicorn_{store}")


def test_gunicorn_secret_rotation_keeps_sessions(
    servers: Servers, context: BrowserContext, page: Page
) -> None:
    server = start_gunicorn(servers, "gunicorn-rotation", SESSION_SECRETS="old-secret")
    url = server.url + "/"
    visit(page, url)
    views, sid = visit(page, url)
    assert views == 2
    old = session_cookie(context)
    assert old is not None
    assert old.get("value") == signed_value(sid, "old-secret")

    # A new secret first: the old cookie still verifies, and is signed anew.
    server.restart(SESSION_SECRETS="new-secret,old-secret")
    workers(server)
    assert visit(page, url) == (3, sid)
    new = session_cookie(context)
    assert new is not None
    assert new.get("value") == signed_value(sid, "new-secret")

    # The old secret retired: the re-signed cookie carries on.
    server.restart(SESSION_SECRETS="new-secret")
    workers(server)
    assert visit(page, url) == (4, sid)

    # A secret that never signed it: a fresh session, not an error.
    server.restart(SESSION_SECRETS="another-secret")
    workers(server)
    views, fresh = visit(page, url)
    assert views == 1
    assert fresh != sid


def test_gunicorn_secure_auto_behind_a_proxy(servers: Servers, new_context: ContextFactory) -> None:
    server = start_gunicorn(servers, "gunicorn-proxy")
    url = server.url + "/"

    plain = new_context()
    visit(plain.new_page(), url)
    cookie = session_cookie(plain)
    assert cookie is not None
    assert cookie.get("secure") is False
    assert cookie.get("httpOnly") is True
    assert cookie.get("sameSite") == "Lax"

    # As a TLS-terminating proxy in front would say: ProxyFix makes the
    # request https, and secure="auto" makes the cookie Secure.
    proxied = new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
    proxied_page = proxied.new_page()
    views, sid = visit(proxied_page, url)
    assert views == 1
    cookie = session_cookie(proxied)
    assert cookie is not None
    assert cookie.get("secure") is True
    assert sid_of(cookie) == sid
    assert visit(proxied_page, url) == (2, sid)
