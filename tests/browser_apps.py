"""Small WSGI apps for the browser tests' cookie cases the examples do not cover.

Each is a view counter (``GET /`` shows ``#views`` and ``#sid``) with its own
cookie options, served by werkzeug in a thread of the test process
(:func:`serve`), over plain http or over https with a throw-away self-signed
certificate (:func:`self_signed_certificate`).
"""

from __future__ import annotations

import html
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from wsgisession import MemoryStore, SessionMiddleware

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SECRET = "browser tests: not a real secret"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
<p>Views: <span id="views">{views}</span></p>
<p>Session id: <code id="sid">{sid}</code></p>
</body></html>
"""


def _counter(title: str) -> WSGIApplication:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/control":
            # A Secure cookie set by hand, without wsgisession: shows what the
            # browser itself accepts from this origin.
            response = Response("control cookie set")
            response.headers.add("Set-Cookie", "control=1; Path=/; Secure; SameSite=Lax")
            return response(environ, start_response)
        if request.path != "/":
            return Response("Not Found", status=404)(environ, start_response)
        session = environ["wsgisession"]
        session["views"] = session.get("views", 0) + 1
        page = PAGE.format(title=title, views=session["views"], sid=html.escape(session.id))
        return Response(page, mimetype="text/html")(environ, start_response)

    return app


def counter_app(title: str, **cookie: Any) -> SessionMiddleware:
    """A view counter whose session cookie has the options ``cookie``
    (on top of ``max_age=3600``)."""
    cookie.setdefault("max_age", 3600)
    return SessionMiddleware(
        _counter(title),
        secret=SECRET,
        store=MemoryStore(),
        resave=False,
        save_uninitialized=False,
        cookie=cookie,
    )


def secure_app() -> SessionMiddleware:
    """``secure=True``: its cookie must never reach a browser over plain http."""
    return counter_app("Secure cookie", secure=True, samesite="lax")


def partitioned_app() -> SessionMiddleware:
    """A CHIPS cookie: ``partitioned=True`` (which implies Secure),
    ``samesite="none"`` and ``priority="high"``."""
    return counter_app("Partitioned cookie", partitioned=True, samesite="none", priority="high")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 made with the ``openssl`` command,
    valid for two days; ``FileNotFoundError`` when openssl is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command (Debian package openssl) is missing")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextmanager
def serve(app: WSGIApplication, *, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve ``app`` with werkzeug on a free port of 127.0.0.1 in a thread;
    yield its base URL (https with ``tls=(cert, key)``), and stop it after."""
    ssl_context = (str(tls[0]), str(tls[1])) if tls is not None else None
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, name="browser-app", daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
