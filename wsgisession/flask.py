"""Flask integration: ``flask.session`` becomes the wsgisession session.

::

    from flask import Flask, session
    from wsgisession import SQLiteStore
    from wsgisession.flask import init_app

    app = Flask(__name__)
    init_app(app, secret="change me", store=SQLiteStore("sessions.db"),
             resave=False, save_uninitialized=False)

    @app.route("/")
    def index():
        session["views"] = session.get("views", 0) + 1
        return f"{session['views']} views"

Coming from Flask-Session, ``Session(app)`` and its ``SESSION_*`` settings
become one ``init_app(app, ...)`` call with the middleware's options.
Needs Flask (``pip install 'wsgisession[flask]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, cast

try:
    import flask
    from flask import current_app
    from flask.sessions import NullSession, SessionInterface, SessionMixin
    from werkzeug.local import LocalProxy
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("wsgisession.flask needs Flask: pip install 'wsgisession[flask]'") from error

from .middleware import SessionMiddleware
from .session import ENVIRON_KEY, Session

if TYPE_CHECKING:
    from flask import Flask, Request, Response

__all__ = ["FlaskSession", "NoSession", "WsgiSessionInterface", "init_app", "session"]


# SessionMixin declares ``new`` a plain attribute; here it is a read-only answer.
class FlaskSession(Session, SessionMixin):  # type: ignore[override]
    """A wsgisession :class:`~wsgisession.Session` that is also Flask's
    :class:`~flask.sessions.SessionMixin`.

    - ``permanent`` is whether the cookie outlives the browser session.
      Setting it to ``True`` gives a cookie without an expiry Flask's
      ``PERMANENT_SESSION_LIFETIME``; ``False`` makes it a browser-session
      cookie.
    - ``new`` and ``modified`` are wsgisession's own answers (changes,
      nested ones included, are found by comparing the data). Setting
      ``modified = True`` forces a save, as Flask users expect.
    - ``accessed`` is whether the application used the session (which
      loads it from the store); the response then carries ``Vary: Cookie``.
    """

    @property
    def permanent(self) -> bool:
        return self.cookie.expires is not None

    @permanent.setter
    def permanent(self, value: bool) -> None:
        cookie = self.cookie
        if value:
            lifetime = current_app.permanent_session_lifetime.total_seconds()
            if cookie.expires is not None and cookie.original_max_age == lifetime:
                return
            cookie.max_age = lifetime
        elif cookie.expires is None:
            return
        else:
            cookie.max_age = None
        # The new lifetime must reach the store and the browser.
        self._owner.mark_modified(self)

    @property
    def modified(self) -> bool:
        return super().modified

    @modified.setter
    def modified(self, value: bool) -> None:
        if value:
            if not self._accessed:
                self._use()
            self._owner.mark_modified(self)

    @property
    def accessed(self) -> bool:
        return self._accessed

    @accessed.setter
    def accessed(self, value: bool) -> None:
        # Only ever raised (which loads the session): wsgisession relies on
        # it to know which sessions the application may have changed.
        if value and not self._accessed:
            self._use()


class NoSession(NullSession):
    """What ``flask.session`` is where the request has no wsgisession
    session (its path is outside the cookie path): readable and empty;
    writing raises, saying why."""

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError(
            "this request has no session: its path is outside the session cookie's path"
            " (the 'path' cookie option of wsgisession.flask.init_app)"
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class WsgiSessionInterface(SessionInterface):
    """Hands Flask the session :class:`SessionMiddleware` opened for the
    request; saving is the middleware's job, after the response is built.

    Flask's ``client.session_transaction()`` is not supported: it opens a
    session outside any request, where no middleware runs. Set up session
    state through requests instead.
    """

    null_session_class = NoSession

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if ENVIRON_KEY not in request.environ:
            if not isinstance(app.extensions.get("wsgisession"), SessionMiddleware):
                raise RuntimeError(
                    "flask.session needs wsgisession's SessionMiddleware around the app:"
                    " call wsgisession.flask.init_app(app, ...)"
                )
            # Outside the cookie path: Flask gives the request a NullSession.
            return None
        session = request.environ[ENVIRON_KEY]
        return session if isinstance(session, FlaskSession) else None

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to do: the middleware decides and saves when the response
        leaves the application."""


def init_app(app: Flask, **options: Any) -> SessionMiddleware:
    """Install wsgisession in a Flask application.

    Wraps ``app.wsgi_app`` in :class:`SessionMiddleware` with ``options`` and
    sets ``app.session_interface`` so that ``flask.session`` is the request's
    :class:`FlaskSession`. Returns the middleware, also kept as
    ``app.extensions["wsgisession"]``.

    Flask's settings fill in what ``options`` leave out: ``secret`` defaults
    to ``app.secret_key``, and without a ``cookie`` option the cookie takes
    ``SESSION_COOKIE_PATH``, ``_DOMAIN``, ``_HTTPONLY``, ``_SECURE``,
    ``_SAMESITE`` and ``_PARTITIONED`` from ``app.config``. The cookie name
    stays wsgisession's (``connect.sid``) unless ``name`` is given.

    :raises TypeError, ValueError: for an invalid option, naming it.
    """
    if "secret" not in options and app.secret_key:
        options["secret"] = app.secret_key
    if "cookie" not in options:
        options["cookie"] = _cookie_from_config(app)
    middleware = SessionMiddleware(app.wsgi_app, **options)
    middleware.session_class = FlaskSession
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.session_interface = WsgiSessionInterface()
    app.extensions["wsgisession"] = middleware
    return middleware


def _cookie_from_config(app: Flask) -> dict[str, Any]:
    config = app.config
    samesite = config.get("SESSION_COOKIE_SAMESITE")
    return {
        "path": config.get("SESSION_COOKIE_PATH") or config.get("APPLICATION_ROOT") or "/",
        "domain": config.get("SESSION_COOKIE_DOMAIN") or None,
        "httponly": bool(config.get("SESSION_COOKIE_HTTPONLY", True)),
        "secure": bool(config.get("SESSION_COOKIE_SECURE", False)),
        "samesite": samesite.lower() if isinstance(samesite, str) else None,
        "partitioned": bool(config.get("SESSION_COOKIE_PARTITIONED", False)),
    }


def _current_session() -> FlaskSession:
    current = flask.session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, FlaskSession):
        raise RuntimeError(
            "this request has no wsgisession session: call wsgisession.flask.init_app(app),"
            " and check that the request path is inside the cookie path"
        )
    return current


#: ``flask.session``, typed as the :class:`FlaskSession` it is, so that
#: ``session.regenerate()``, ``session.destroy()`` and ``session.id`` type-check.
session = cast(FlaskSession, LocalProxy(_current_session))
