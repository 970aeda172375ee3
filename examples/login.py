"""Logging in and out with a session: a form, a private page, flash messages.

Run: ``python examples/login.py`` and open http://127.0.0.1:8000 (user
``alice``, password ``wonderland``).

- ``POST /login`` checks the password, then calls ``session.regenerate()``: the
  session gets a new id, and the old one is destroyed in the store, so an id
  planted in the browser before login (session fixation) is worthless after it.
  The private page shows both ids.
- ``/private`` is for logged-in users only; others are sent to the login form.
- ``POST /logout`` calls ``session.destroy()``: the store entry and the cookie go.
- Messages for the next page ("flash" messages) wait in the session under
  ``"flash"`` and are removed once shown.

Sessions live in an SQLite file (``SESSION_DB``, default ``login.db`` in the
current directory; ``STORE=memory`` keeps them in the process). ``HOST``,
``PORT`` and ``SESSION_SECRET`` as for view_counter.py. The cookie is
``SameSite=Lax``, so other sites cannot post these forms with it; but the
login form needs no cookie, so a POST that a browser marks as cross-site
(``Sec-Fetch-Site``, or a foreign ``Origin``) is refused. A real application
adds CSRF tokens to its forms as well.
"""

from __future__ import annotations

import html
import logging
import os
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.serving import run_simple
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from wsgisession import MemoryStore, Session, SessionMiddleware, SQLiteStore, Store, get_session

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

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


# A real application keeps password hashes like these in its database.
USERS = {"alice": generate_password_hash("wonderland")}

SECRET_MESSAGE = "The cake is a lie"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · wsgisession login demo</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; color: #222;
       max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }}
nav a {{ margin-right: 1rem; }}
code {{ background: #f0f0f0; padding: 0 .25rem; border-radius: .2rem; word-break: break-all; }}
#flash {{ list-style: none; padding: 0; }}
#flash li {{ background: #fff6d6; border: 1px solid #e6d28a; padding: .5rem; margin: .5rem 0; }}
label {{ display: block; margin: .5rem 0; }}
input {{ display: block; font: inherit; padding: .25rem; }}
button {{ font: inherit; padding: .25rem 1rem; }}
</style>
</head>
<body>
<nav><a href="/">Home</a><a href="/login">Log in</a><a href="/private">Private page</a></nav>
<ul id="flash">{flash}</ul>
<h1>{title}</h1>
{body}
</body>
</html>
"""


def flash(session: Session, message: str) -> None:
    """Keep ``message`` for the next page shown."""
    session.setdefault("flash", []).append(message)


def render(session: Session, title: str, body: str) -> Response:
    """A page with the waiting flash messages, which are then gone. ``body``
    is HTML; ``title`` is text."""
    messages: list[str] = session.pop("flash", [])
    items = "".join(f"<li>{html.escape(message)}</li>" for message in messages)
    page = PAGE.format(title=html.escape(title), flash=items, body=body)
    return Response(page, mimetype="text/html")


# Checked for unknown users too, so the time taken does not tell who exists.
_NOBODY = generate_password_hash("no one has this password")


def authenticate(username: str, password: str) -> bool:
    """Whether ``password`` is ``username``'s."""
    matches = check_password_hash(USERS.get(username, _NOBODY), password)
    return matches and username in USERS


def cross_site(request: Request) -> bool:
    """Whether a browser says the request comes from another site: a form on
    some other page posting here (login CSRF). Clients that send neither
    header (curl, tests) are not browsers and pass."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is not None and origin != request.host_url.rstrip("/")


def home(request: Request, session: Session) -> Response:
    user = session.get("user")
    status = "Not logged in" if user is None else f"Logged in as {user}"
    bye = '<p id="bye">You have logged out</p>' if request.args.get("bye") == "1" else ""
    body = f"""{bye}
<p id="status">{html.escape(status)}</p>
<p>Session id: <code id="sid">{html.escape(session.id)}</code></p>"""
    return render(session, "Home", body)


def login_form(request: Request, session: Session) -> Response:
    body = """<form method="post" action="/login">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button id="submit" type="submit">Log in</button>
</form>
<p>Try <code>alice</code> with the password <code>wonderland</code>.</p>"""
    return render(session, "Log in", body)


def login(request: Request, session: Session) -> Response:
    username = request.form.get("username", "")
    if not authenticate(username, request.form.get("password", "")):
        flash(session, "Wrong username or password")
        return redirect("/login", 303)
    previous_sid = session.id
    session.regenerate()  # a new id; the old one is destroyed in the store
    session["previous_sid"] = previous_sid
    session["user"] = username
    flash(session, f"Welcome, {username}")
    return redirect("/private", 303)


def private(request: Request, session: Session) -> Response:
    if session.get("user") is None:
        flash(session, "Please log in first")
        return redirect("/login", 303)
    sid, previous_sid = html.escape(session.id), html.escape(session.get("previous_sid", ""))
    body = f"""<p>Only logged-in users see this: <strong id="secret">{SECRET_MESSAGE}</strong></p>
<p>Session id now: <code id="sid">{sid}</code></p>
<p>Session id before logging in: <code id="previous-sid">{previous_sid}</code></p>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>"""
    return render(session, "Private page", body)


def logout(request: Request, session: Session) -> Response:
    session.destroy()  # the store entry goes, and the browser's cookie
    return redirect("/?bye=1", 303)


VIEWS: dict[str, Callable[[Request, Session], Response]] = {
    "home": home,
    "login_form": login_form,
    "login": login,
    "private": private,
    "logout": logout,
}

URLS = Map(
    [
        Rule("/", endpoint="home", methods=["GET"]),
        Rule("/login", endpoint="login_form", methods=["GET"]),
        Rule("/login", endpoint="login", methods=["POST"]),
        Rule("/private", endpoint="private", methods=["GET"]),
        Rule("/logout", endpoint="logout", methods=["POST"]),
    ]
)


def pages(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI application, to run inside :class:`SessionMiddleware`."""
    request = Request(environ)
    session = get_session(environ)
    assert session is not None, "every path is inside the cookie path, /"
    if request.method == "POST" and cross_site(request):
        return Response("Forbidden: cross-site form", status=403)(environ, start_response)
    try:
        endpoint, _ = URLS.bind_to_environ(environ).match()
        response = VIEWS[endpoint](request, session)
    except HTTPException as error:
        return error(environ, start_response)
    return response(environ, start_response)


def default_store() -> Store:
    """``STORE=memory`` for a :class:`MemoryStore`, otherwise an
    :class:`SQLiteStore` at ``SESSION_DB``."""
    if os.environ.get("STORE") == "memory":
        return MemoryStore()
    return SQLiteStore(os.environ.get("SESSION_DB", "login.db"))


def create_app(store: Store | None = None) -> SessionMiddleware:
    """The login demo with its sessions in ``store`` (by default :func:`default_store`)."""
    return SessionMiddleware(
        pages,
        secret=session_secret(),
        store=default_store() if store is None else store,
        resave=False,
        save_uninitialized=False,
        cookie={"max_age": 3600, "samesite": "lax", "secure": "auto"},
    )


_app: SessionMiddleware | None = None


def __getattr__(name: str) -> SessionMiddleware:
    # ``app`` is built on first use, so that importing this module opens no database.
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = create_app()
    return _app


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"wsgisession login demo on http://{host}:{port} (Ctrl-C stops it)", flush=True)
    run_simple(host, port, create_app(), threaded=True)
