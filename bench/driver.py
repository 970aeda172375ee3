"""Driving a WSGI application in process: prepared environs, one request at
a time, the body consumed and closed, as a server would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.test import EnvironBuilder

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

#: The four scenarios, in report order. "new": a visitor without a cookie
#: whose request writes a value; "read": a returning visitor whose request
#: reads the session; "modify": one whose request changes a value;
#: "unused": one whose request carries the cookie and never touches the session.
SCENARIOS = ("new", "read", "modify", "unused")
RETURNING = ("read", "modify", "unused")

#: Where the benchmark views leave what they read from, or wrote to, the
#: session, so that a check can see it (one dict store per request).
SEEN = "bench.seen"


@dataclass
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    environ: WSGIEnvironment

    def set_cookie(self, name: str) -> str | None:
        """The ``name=value`` pair of the ``Set-Cookie`` header for ``name``, if any."""
        for header, value in self.headers:
            if header.lower() == "set-cookie":
                pair = value.split(";", 1)[0].strip()
                if pair.split("=", 1)[0] == name:
                    return pair
        return None


def environ_for(scenario: str, cookie: str | None) -> WSGIEnvironment:
    """The environ template of a request for ``scenario`` (copy it per request)."""
    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(path=f"/{scenario}", headers=headers)
    try:
        environ: WSGIEnvironment = builder.get_environ()
    finally:
        builder.close()
    return environ


def request(app: WSGIApplication, environ: WSGIEnvironment) -> Response:
    """One request, recording the status and headers."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, list(headers)]
        return _write

    environ = environ.copy()
    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return Response(started[0], started[1], data, environ)


def _write(data: bytes) -> None:  # the write() callable of start_response; unused
    pass


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    return _write


def timed_run(app: WSGIApplication, template: WSGIEnvironment, n: int) -> float:
    """Seconds for ``n`` requests, each with a fresh copy of ``template``."""
    copy = template.copy
    start_response = _start_response
    started = time.perf_counter()
    for _ in range(n):
        body: Iterable[bytes] = app(copy(), start_response)
        for _chunk in body:
            pass
        close: Callable[[], None] | None = getattr(body, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - started


def calibrate(
    app: WSGIApplication, template: WSGIEnvironment, seconds: float, *, most: int = 50_000
) -> int:
    """How many requests take about ``seconds``: runs growing batches (which
    also warm up the configuration) until one takes a tenth of that."""
    n = 8
    while True:
        elapsed = timed_run(app, template, n)
        if elapsed >= seconds / 10 or n >= most:
            break
        n *= 2
    per_request = elapsed / n
    return max(20, min(most, round(seconds / per_request)))


class CheckFailed(AssertionError):
    """A configuration does not behave as the scenario needs."""


#: The cookie a bare application's returning visitors send (it reads none).
BARE_COOKIE = "sid=" + "x" * 72


def prepare(app: WSGIApplication, cookie_name: str | None) -> dict[str, str | None]:
    """The ``Cookie`` header of each scenario's requests, after checking that
    the configuration behaves as the scenarios need.

    Each returning-visitor scenario gets a session of its own, made by a first
    real request (a new visitor's, which writes ``views = 1``). Then a "read"
    request must see 1, a "modify" request must see 2 and a later request
    must see what it wrote, and an "unused" request must answer.
    """
    if cookie_name is None:
        for scenario in SCENARIOS:
            _expect_ok(request(app, environ_for(scenario, BARE_COOKIE)), scenario)
        return {"new": None, **{scenario: BARE_COOKIE for scenario in RETURNING}}
    cookies: dict[str, str | None] = {"new": None}
    for scenario in RETURNING:
        first = request(app, environ_for("new", None))
        _expect_ok(first, "new")
        cookie = first.set_cookie(cookie_name)
        if cookie is None:
            raise CheckFailed(f"a new visitor who wrote a value got no {cookie_name!r} cookie")
        _expect_seen(first, "new", 1)
        cookies[scenario] = cookie
    read = request(app, environ_for("read", cookies["read"]))
    _expect_seen(read, "read", 1)
    modified = request(app, environ_for("modify", cookies["modify"]))
    _expect_seen(modified, "modify", 2)
    later = request(app, environ_for("read", modified.set_cookie(cookie_name) or cookies["modify"]))
    _expect_seen(later, "read after modify", 2)
    unused = request(app, environ_for("unused", cookies["unused"]))
    _expect_ok(unused, "unused")
    if SEEN in unused.environ:
        raise CheckFailed("the 'unused' view touched the session")
    return cookies


def _expect_ok(response: Response, scenario: str) -> None:
    if not response.status.startswith("200"):
        raise CheckFailed(f"{scenario}: status {response.status}, body {response.body[:200]!r}")


def _expect_seen(response: Response, scenario: str, value: int) -> None:
    _expect_ok(response, scenario)
    seen = response.environ.get(SEEN)
    if seen != value:
        raise CheckFailed(f"{scenario}: the view saw views={seen!r}, expected {value}")
