"""The wsgisession demo: a page that counts your views.

Run it with ``python examples/view_counter.py`` and open http://127.0.0.1:8000.
Each reload adds one to the count kept in your session; the page shows the
session id and when its cookie expires. ``/reset`` destroys the session.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from wsgisession import MemoryStore, SessionMiddleware

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wsgisession view counter</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; }}
.count {{ font-size: 4rem; margin: 1rem 0; }}
code {{ background: #f3f3f3; padding: 0 .25rem; }}
</style></head>
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
    """Count the visitor's views in their session."""
    request = Request(environ)
    session = environ["wsgisession"]
    if request.path == "/reset":
        session.destroy()
        response = Response(status=303, headers={"Location": "/"})
        return response(environ, start_response)
    if request.path != "/":
        return Response("Not Found", status=404)(environ, start_response)
    session["views"] = session.get("views", 0) + 1
    expires = session.cookie.expires
    page = PAGE.format(
        views=session["views"],
        plural="" if session["views"] == 1 else "s",
        sid=html.escape(session.id),
        expires="when the browser closes" if expires is None else expires.isoformat(),
    )
    return Response(page, mimetype="text/html")(environ, start_response)


app = SessionMiddleware(
    counter,
    secret=os.environ.get("SESSION_SECRET", "change me: a long random string"),
    store=MemoryStore(),
    resave=False,
    save_uninitialized=False,
    cookie={"max_age": 3600, "samesite": "lax", "secure": "auto"},
)

if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"wsgisession view counter on http://{host}:{port}")
    run_simple(host, port, app)
