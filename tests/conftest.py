"""Shared fixtures and helpers for the test suite.

Tests drive the middleware in process through :class:`werkzeug.test.Client`
against a real :class:`MemoryStore`. ``RecordingStore`` is a MemoryStore that
also notes which operations the middleware called; ``FailingStore`` is a
MemoryStore whose chosen operations raise, as a backend outage would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Response

from wsgisession import MemoryStore, Session, SessionMiddleware
from wsgisession.record import Record

SECRET = "keyboard cat"


class RecordingStore(MemoryStore):
    """A MemoryStore that records each call as ``(operation, sid)``.

    Since it overrides ``get`` and ``touch``, the middleware does not use
    the ``get_and_refresh`` it inherits (see ``own_shortcut``): it loads with
    ``get`` and touches at the end, express-session's own sequence, so the
    lifecycle tests see every decision. :class:`RefreshingRecordingStore`
    has a ``get_and_refresh`` of its own.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls: list[tuple[str, str]] = []

    def get(self, sid: str) -> Record | None:
        self.calls.append(("get", sid))
        return super().get(sid)

    def set(self, sid: str, record: Record) -> None:
        self.calls.append(("set", sid))
        super().set(sid, record)

    def destroy(self, sid: str) -> None:
        self.calls.append(("destroy", sid))
        super().destroy(sid)

    def touch(self, sid: str, record: Record) -> None:
        self.calls.append(("touch", sid))
        super().touch(sid, record)

    def refresh(self, sid: str) -> bool:
        self.calls.append(("refresh", sid))
        return super().refresh(sid)

    def operations(self) -> list[str]:
        """The operations called, in order, and forget them."""
        ops = [op for op, _ in self.calls]
        self.calls.clear()
        return ops


class RefreshingRecordingStore(RecordingStore):
    """A RecordingStore with MemoryStore's ``get_and_refresh``: the middleware
    loads with it and leaves out the touch at the end, as with the shipped stores."""

    def get_and_refresh(self, sid: str) -> Record | None:
        self.calls.append(("get_and_refresh", sid))
        return MemoryStore.get_and_refresh(self, sid)


class FailingStore(MemoryStore):
    """A MemoryStore whose operations named in ``failing`` raise ``ConnectionError``.
    It loads with ``get``, as :class:`RecordingStore` does."""

    def __init__(self, *failing: str) -> None:
        super().__init__()
        self.failing = set(failing)

    def _maybe_fail(self, operation: str) -> None:
        if operation in self.failing:
            raise ConnectionError(f"connection refused during {operation}")

    def get(self, sid: str) -> Record | None:
        self._maybe_fail("get")
        return super().get(sid)

    def set(self, sid: str, record: Record) -> None:
        self._maybe_fail("set")
        super().set(sid, record)

    def destroy(self, sid: str) -> None:
        self._maybe_fail("destroy")
        super().destroy(sid)

    def touch(self, sid: str, record: Record) -> None:
        self._maybe_fail("touch")
        super().touch(sid, record)

    def refresh(self, sid: str) -> bool:
        self._maybe_fail("refresh")
        return super().refresh(sid)


View = Callable[[Session, dict[str, Any]], Any]


def session_app(view: View | None = None) -> Callable[..., Any]:
    """A WSGI app that calls ``view(session, environ)`` and answers 200 with
    what it returns (``str`` or ``bytes``; ``None`` gives an empty body)."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        body = b""
        if view is not None:
            result = view(environ["wsgisession"], environ)
            if isinstance(result, str):
                body = result.encode()
            elif isinstance(result, bytes):
                body = result
        return Response(body)(environ, start_response)

    return app


def make_middleware(app: Callable[..., Any], **options: Any) -> SessionMiddleware:
    """A SessionMiddleware with the test secret and express-session's defaults
    given explicitly (so no DeprecationWarning), overridable by ``options``."""
    options.setdefault("secret", SECRET)
    options.setdefault("resave", True)
    options.setdefault("save_uninitialized", True)
    return SessionMiddleware(app, **options)


def make_client(view: View | None = None, **options: Any) -> Client:
    """A test client for ``session_app(view)`` wrapped in ``make_middleware``."""
    return Client(make_middleware(session_app(view), **options))


def expected_cookie_value(sid: str, secret: str | bytes = SECRET) -> str:
    """The cookie value express-session writes for ``sid``, computed by hand:
    HMAC-SHA256, standard base64 without '=', encodeURIComponent."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, sid.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(mac).decode().rstrip("=")
    return quote("s:" + sid + "." + signature, safe="-_.!~*'()")


def set_cookies(response: TestResponse) -> list[str]:
    """The Set-Cookie header values of ``response``."""
    return response.headers.getlist("Set-Cookie")


def session_cookie(response: TestResponse, name: str = "connect.sid") -> str | None:
    """The Set-Cookie header value for the session cookie, or ``None``."""
    for header in set_cookies(response):
        if header.startswith(name + "="):
            return header
    return None


def sid_from(response: TestResponse, name: str = "connect.sid") -> str | None:
    """The session id the response's session cookie carries, or ``None``."""
    header = session_cookie(response, name)
    if header is None:
        return None
    from urllib.parse import unquote

    value = unquote(header.split(";", 1)[0].split("=", 1)[1])
    assert value.startswith("s:")
    return value[2:].rsplit(".", 1)[0]


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


# Real servers. Tests that need one skip, naming what is missing, when it is
# not reachable; .ci/run turns such skips into failures.

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a reachable Redis server (``REDIS_URL``)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(
            f"no Redis server at REDIS_URL={REDIS_URL} ({error}); start one with"
            " 'redis-server --daemonize yes' (Debian package redis-server)"
        )
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The connection string of a reachable PostgreSQL server (``POSTGRES_DSN``)."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_DSN, connect_timeout=2).close()
    except psycopg.Error as error:
        pytest.skip(
            f"no PostgreSQL server at POSTGRES_DSN={POSTGRES_DSN!r} ({error}); see the"
            " README for starting one (Debian package postgresql)"
        )
    return POSTGRES_DSN


def unique_name(prefix: str) -> str:
    """A name no other test (or concurrent test run) uses."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With ``WSGISESSION_REQUIRE_ALL=1`` (``.ci/run`` sets it) a skipped test
    fails, so CI never goes green by skipping a test whose server is missing."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and not hasattr(report, "wasxfail")
        and os.environ.get("WSGISESSION_REQUIRE_ALL") == "1"
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but WSGISESSION_REQUIRE_ALL=1 forbids skips: {reason}"
