"""The wsgisession demo: a page that counts your views.

Run: ``python examples/view_counter.py`` and open http://127.0.0.1:8000

Each reload adds one to the count kept in your session; the page shows the
session id and when its cookie expires, and ``/reset`` destroys the session.
Sessions live in an SQLite file (``SESSION_DB``, default ``view_counter.db``
in the current directory), so the count survives a restart of the server;
``STORE=memory`` keeps them in the process instead. ``HOST`` and ``PORT``
choose where it listens, ``SESSION_SECRET`` the secret that signs the cookie.

``create_app(store)`` builds the application; ``app`` is the one the
environment describes, for any WSGI server (``gunicorn view_counter:app``).
"""

from __future__ import annotations

import html
import logging
import os
from typing import TYPE_CHECKING

from werkzeug.serving import run_simple
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from wsgisession import MemoryStore, SessionMiddleware, SQLiteStore, Store, get_session

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# For trying it out only: a real deployment sets SESSION_SECRET (see production.py).
DEV_SECRET = "change me: a long random string"


def session_secret() -> str:
    """``SESSION_SECRET``, or a development secret, loudly."""
    secret = os.environ.get("SESSION_SECRET")
    if secret is None:
        logging.getLogger(__name__).warning(
            "SESSION_SECRET is not set: cookies are signed with a public development secret"
        )
        return DEV_SECRET
    return secret


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgisession view counter</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; color: #222;
       max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }}
.count {{ font-size: 4rem; font-weight: bold; margin: 0; }}
code {{ background: #f0f0f0; padding: 0 .25rem; border-radius: .2rem; word-break: break-all; }}
</style>
</head>
<body>
<h1>View counter</h1>
<p>You have viewed this page</p>
<p class="count" id="views">{views}</p>
<p>time{plural} in this session.</p>
<p>Session id: <code id="sid">{sid}</code></p>
<p>Cookie expires: <code id="expires">{expires}</code></p>
<p><a href="/reset">Start a new session</a></p>
</body>
</html>
"""


def counter(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The page: count the visitor's views in their session (a WSGI application
    that needs :class:`SessionMiddleware` around it)."""
    request = Request(environ)
    session = get_session(environ)
    if request.path == "/reset":
        if session is not None:
            session.destroy()  # the store entry goes, and the browser's cookie
        return redirect("/", 303)(environ, start_response)
    if request.path != "/" or session is None:
        return Response("Not Found", status=404)(environ, start_response)
    session["views"] = session.get("views", 0) + 1
    # The expiry restarts with this request; show it as the cookie will carry it.
    session.touch()
    expires = session.cookie.expires
    page = PAGE.format(
        views=session["views"],
        plural="" if session["views"] == 1 else "s",
        sid=html.escape(session.id),
        expires="when the browser closes" if expires is None else expires.isoformat(),
    )
    return Response(page, mimetype="text/html")(environ, start_response)


def default_store() -> Store:
    """The store the environment asks for: ``STORE=memory`` for a
    :class:`MemoryStore`, otherwise an :class:`SQLiteStore` at ``SESSION_DB``."""
    if os.environ.get("STORE") == "memory":
        return MemoryStore()
    return SQLiteStore(os.environ.get("SESSION_DB", "view_counter.db"))


def create_app(store: Store | None = None) -> SessionMiddleware:
    """The view counter with its sessions in ``store`` (by default
    :func:`default_store`)."""
    return SessionMiddleware(
        counter,
        secret=session_secret(),
        store=default_store() if store is None else store,
        resave=False,
        save_uninitialized=False,
        cookie={"max_age": 3600, "samesite": "lax", "secure": "auto"},
    )


_app: SessionMiddleware | None = None


def __getattr__(name: str) -> SessionMiddleware:
    # ``app`` is built on first use, so that importing this module for its
    # page (production.py does) opens no database.
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = create_app()
    return _app


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"wsgisession view counter on http://{host}:{port} (Ctrl-C stops it)", flush=True)
    run_simple(host, port, create_app(), threaded=True)
