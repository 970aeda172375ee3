"""Views that read the wsgisession session from ``request.environ``.

The session is the WSGI environ's ``"wsgisession"``, put there by the
:class:`SessionMiddleware` around Django's application (wsgi.py);
``wsgisession.get_session(request.environ)`` returns it typed.
"""

from __future__ import annotations

import html

from django.core.handlers.wsgi import WSGIRequest  # type: ignore[import-untyped]
from django.http import HttpResponse, HttpResponseRedirect  # type: ignore[import-untyped]

from wsgisession import Session, get_session

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsgisession with Django</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.5; color: #222;
       max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }}
.count {{ font-size: 4rem; font-weight: bold; margin: 0; }}
code {{ background: #f0f0f0; padding: 0 .25rem; border-radius: .2rem; word-break: break-all; }}
</style>
</head>
<body>
<h1>View counter, in Django</h1>
<p>You have viewed this page</p>
<p class="count" id="views">{views}</p>
<p>time{plural} in this session.</p>
<p>Session id: <code id="sid">{sid}</code></p>
<p>Cookie expires: <code id="expires">{expires}</code></p>
<p><a href="/reset">Start a new session</a></p>
</body>
</html>
"""


def _session(request: WSGIRequest) -> Session:
    session = get_session(request.environ)
    if session is None:
        raise RuntimeError("no session: run Django inside wsgisession's SessionMiddleware")
    return session


def index(request: WSGIRequest) -> HttpResponse:
    """Count the visitor's views in their session."""
    session = _session(request)
    session["views"] = session.get("views", 0) + 1
    # The expiry restarts with this request; show it as the cookie will carry it.
    session.touch()
    expires = session.cookie.expires
    return HttpResponse(
        PAGE.format(
            views=session["views"],
            plural="" if session["views"] == 1 else "s",
            sid=html.escape(session.id),
            expires="when the browser closes" if expires is None else expires.isoformat(),
        )
    )


def reset(request: WSGIRequest) -> HttpResponse:
    """Destroy the session and start again."""
    _session(request).destroy()  # the store entry goes, and the browser's cookie
    return HttpResponseRedirect("/", status=303)
