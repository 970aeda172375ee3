"""The view counter in Flask, with ``flask.session`` kept by wsgisession.

Run: ``python examples/flask_app.py`` and open http://127.0.0.1:8000

``init_app(app, ...)`` wraps ``app.wsgi_app`` in :class:`SessionMiddleware`
and makes ``flask.session`` the wsgisession session: a server-side session
whose id travels in the signed cookie, instead of Flask's cookie that holds
the data. ``wsgisession.flask.session`` is that same object, typed, for
``session.id`` and ``session.destroy()``. Sessions live in an SQLite file
(``SESSION_DB``, default ``flask_app.db`` in the current directory); ``HOST``,
``PORT`` and ``SESSION_SECRET`` as for view_counter.py.
"""

from __future__ import annotations

import logging
import os

from flask import Flask, redirect, render_template_string, url_for
from werkzeug.wrappers import Response

from wsgisession import SQLiteStore
from wsgisession.flask import init_app, session

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
<title>wsgisession with Flask</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #222;
       max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
.count { font-size: 4rem; font-weight: bold; margin: 0; }
code { background: #f0f0f0; padding: 0 .25rem; border-radius: .2rem; word-break: break-all; }
</style>
</head>
<body>
<h1>View counter, in Flask</h1>
<p>You have viewed this page</p>
<p class="count" id="views">{{ views }}</p>
<p>time{{ "" if views == 1 else "s" }} in this session.</p>
<p>Session id: <code id="sid">{{ sid }}</code></p>
<p>Cookie expires: <code id="expires">{{ expires }}</code></p>
<p><a href="{{ url_for('reset') }}">Start a new session</a></p>
</body>
</html>
"""

app = Flask(__name__)
init_app(
    app,
    secret=session_secret(),
    store=SQLiteStore(os.environ.get("SESSION_DB", "flask_app.db")),
    resave=False,
    save_uninitialized=False,
    cookie={"max_age": 3600, "samesite": "lax", "secure": "auto"},
)


@app.get("/")
def index() -> str:
    session["views"] = session.get("views", 0) + 1
    # The expiry restarts with this request; show it as the cookie will carry it.
    session.touch()
    expires = session.cookie.expires
    return render_template_string(
        PAGE,
        views=session["views"],
        sid=session.id,
        expires="when the browser closes" if expires is None else expires.isoformat(),
    )


@app.get("/reset")
def reset() -> Response:
    session.destroy()  # the store entry goes, and the browser's cookie
    return redirect(url_for("index"), 303)


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    app.run(host=host, port=port)
