"""The WSGI middleware: reads the cookie, loads or creates the session, and
at the end of the response sends the cookie and writes the store as
:mod:`wsgisession.policy` decides."""

from __future__ import annotations

import functools
import os
import re
import secrets as _secrets
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.wsgi import ClosingIterator

from .cookie import CookieOptions, path_matches
from .policy import Lifecycle, Unset
from .request import RequestSession, logger
from .response import DeferredResponse
from .session import ENVIRON_KEY, Session
from .signing import CookieSigner
from .stores.base import Store, own_shortcut
from .stores.memory import MemoryStore

if TYPE_CHECKING:
    from typing import TypeAlias

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    Secret: TypeAlias = str | bytes
    CookieOption: TypeAlias = (
        Mapping[str, Any] | Callable[[WSGIEnvironment], Mapping[str, Any]] | None
    )

# RFC 7230 token: what a cookie name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def generate_id(environ: WSGIEnvironment) -> str:
    """The default ``genid``: 24 random bytes in url-safe base64 (32
    characters, 192 bits), as express-session's ``uid-safe`` makes them."""
    return _secrets.token_urlsafe(24)


def _secrets_option(secret: object) -> list[bytes]:
    if secret is None:
        raise ValueError("the 'secret' option is required: a str, bytes or a list of them")
    items: list[object]
    if isinstance(secret, (str, bytes)):
        items = [secret]
    elif isinstance(secret, Sequence):
        items = list(secret)
    else:
        raise TypeError(
            "the 'secret' option must be a str, bytes or a list of them, not"
            f" {type(secret).__name__}"
        )
    if not items:
        raise ValueError("the 'secret' option must hold at least one secret")
    keys = []
    for item in items:
        if not isinstance(item, (str, bytes)):
            raise TypeError(f"each 'secret' must be a str or bytes, not {type(item).__name__}")
        if not item:
            raise ValueError("the 'secret' option must not hold an empty secret")
        keys.append(item.encode() if isinstance(item, str) else item)
    return keys


def _caller_stacklevel() -> int:
    # The first frame outside wsgisession: the application's call of
    # SessionMiddleware(...) or of an integration such as flask.init_app.
    package = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _flag_option(name: str, value: object, *, default: bool | None = None) -> bool:
    if value is None and default is not None:
        warnings.warn(
            f"the {name!r} option was not given and defaults to {default}; pass"
            f" {name}=False or {name}=True (express-session warns the same)",
            DeprecationWarning,
            stacklevel=_caller_stacklevel(),
        )
        return default
    if not isinstance(value, bool):
        raise TypeError(f"the {name!r} option must be True or False, not {value!r}")
    return value


class SessionMiddleware:
    """Server-side sessions for a WSGI application, as express-session does
    them for Node.

    The session is ``environ["wsgisession"]``, a :class:`Session`; its id
    travels in a signed cookie and its data lives in ``store``::

        app.wsgi_app = SessionMiddleware(
            app.wsgi_app, secret="change me", resave=False, save_uninitialized=False
        )

    :param app: the WSGI application to wrap.
    :param secret: required: the secret that signs the cookie, or a list of secrets:
        the first signs, every one verifies, so secrets can be rotated.
    :param name: the cookie name.
    :param store: where sessions are kept; a :class:`MemoryStore` by default.
    :param cookie: cookie options (see :class:`CookieOptions`) as a dict, or a
        callable ``(environ) -> dict`` called once per request; its ``path``
        decides whether the request gets a session, and its other values
        apply to the sessions it creates.
    :param genid: a callable ``(environ) -> str`` making new session ids.
    :param proxy: ``None`` trusts ``wsgi.url_scheme`` to tell a secure request;
        ``True`` also trusts the first ``X-Forwarded-Proto`` value; ``False``
        trusts only the connection (the scheme before werkzeug's ProxyFix).
    :param resave: save unmodified sessions back to the store on every
        request. Defaults to ``True`` with a :class:`DeprecationWarning`;
        ``False`` is usually right.
    :param rolling: send the cookie on every response, restarting its expiry.
    :param save_uninitialized: store and send new sessions the application
        never changed. Defaults to ``True`` with a :class:`DeprecationWarning`;
        ``False`` is usually right (and what cookie-consent laws want).
    :param unset: what a session the application unsets (sets
        ``environ["wsgisession"]`` to ``None`` or deletes it) becomes:
        ``"keep"`` leaves the stored session as it was, ``"destroy"`` deletes it.
    :raises TypeError, ValueError: naming the option that is invalid.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        secret: Secret | Sequence[Secret] | None = None,
        name: str = "connect.sid",
        store: Store | None = None,
        cookie: CookieOption = None,
        genid: Callable[[WSGIEnvironment], str] | None = None,
        proxy: bool | None = None,
        resave: bool | None = None,
        rolling: bool = False,
        save_uninitialized: bool | None = None,
        unset: Unset = "keep",
    ) -> None:
        if not callable(app):
            raise TypeError("the application to wrap must be a WSGI callable")
        self.app = app
        self.signer = CookieSigner(_secrets_option(secret))
        if not isinstance(name, str):
            raise TypeError(f"the 'name' option must be a str, not {type(name).__name__}")
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"the 'name' option must be a cookie name (an HTTP token): {name!r}")
        self.name = name
        if store is None:
            store = MemoryStore()
        elif not isinstance(store, Store):
            raise TypeError(
                f"the 'store' option must be a wsgisession.Store, not {type(store).__name__}"
            )
        self.store = store
        self._cookie_factory: Callable[[WSGIEnvironment], Mapping[str, Any]] | None = None
        self._cookie_options = CookieOptions()
        if callable(cookie):
            self._cookie_factory = cookie
        else:
            self._cookie_options = CookieOptions.from_mapping(cookie)
        if genid is not None and not callable(genid):
            raise TypeError("the 'genid' option must be a callable (environ) -> str")
        self.genid = genid or generate_id
        if not (proxy is None or proxy is True or proxy is False):
            raise TypeError(f"the 'proxy' option must be None, True or False, not {proxy!r}")
        self.proxy = proxy
        if unset not in ("keep", "destroy"):
            raise ValueError(f"the 'unset' option must be 'keep' or 'destroy', not {unset!r}")
        self.lifecycle = Lifecycle(
            resave=_flag_option("resave", resave, default=True),
            rolling=_flag_option("rolling", rolling),
            save_uninitialized=_flag_option("save_uninitialized", save_uninitialized, default=True),
            unset=unset,
        )
        #: Whether sessions are loaded with the store's ``get_and_refresh``, so
        #: that a request that reads one costs one store operation. Only with
        #: ``resave=False``: resave writes every loaded session anyway.
        self.refreshing_loads = not self.lifecycle.resave and own_shortcut(store, "get_and_refresh")
        # A refresh that the store's get and touch stand behind (own_shortcut).
        self._refresh: Callable[[str], bool] = (
            store.refresh
            if own_shortcut(store, "refresh")
            else functools.partial(Store.refresh, store)
        )
        self._environ_checked = False
        #: The class of the sessions this middleware creates: a
        #: :class:`Session` subclass, as framework integrations set it
        #: (:func:`wsgisession.flask.init_app`).
        self.session_class: type[Session] = Session

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if ENVIRON_KEY in environ:
            # An outer SessionMiddleware already gave this request a session.
            return self.app(environ, start_response)
        if not self._environ_checked:
            self._check_environ(environ)
        options = self.cookie_options(environ)
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
        if not path_matches(options.wsgi_path, path):
            logger.debug("request path %r is outside the cookie path %r", path, options.path)
            return self.app(environ, start_response)
        request = RequestSession(self, environ, options)
        response = DeferredResponse(
            start_response, on_headers=request.on_headers, on_end=request.on_end
        )
        body = self.app(environ, response.start_response)
        return ClosingIterator(response.iterate(body), getattr(body, "close", None))

    def cookie_options(self, environ: WSGIEnvironment) -> CookieOptions:
        """The cookie options for a request: the ``cookie`` option's, or what
        its callable returns for ``environ``, validated."""
        if self._cookie_factory is None:
            return self._cookie_options
        return CookieOptions.from_mapping(self._cookie_factory(environ))

    def is_secure(self, environ: WSGIEnvironment) -> bool:
        """Whether a request came over HTTPS, as the ``proxy`` option says to tell."""
        if self.proxy is False:
            original = environ.get("werkzeug.proxy_fix.orig")
            scheme = (original or environ).get("wsgi.url_scheme")
            return bool(scheme == "https")
        if environ.get("wsgi.url_scheme") == "https":
            return True
        if self.proxy is True:
            forwarded = environ.get("HTTP_X_FORWARDED_PROTO", "")
            return bool(forwarded.split(",", 1)[0].strip().lower() == "https")
        return False

    def _check_environ(self, environ: WSGIEnvironment) -> None:
        self._environ_checked = True
        if environ.get("wsgi.multiprocess") and isinstance(self.store, MemoryStore):
            warnings.warn(
                "the server runs several processes, and MemoryStore's sessions are not"
                " shared between them: use SQLiteStore or RedisStore",
                RuntimeWarning,
                stacklevel=2,
            )

    def call_store(self, operation: str, *args: Any) -> Any:
        """Call a store method, turning any failure into a :class:`StoreError`
        (for stores that do not do it themselves)."""
        with self.store.errors(operation):
            return getattr(self.store, operation)(*args)

    def refresh(self, sid: str) -> bool:
        """Extend the expiry of a session the request did not use
        (:meth:`Store.refresh`), through the store's ``get`` and ``touch``
        where its own ``refresh`` would bypass them."""
        with self.store.errors("refresh"):
            return bool(self._refresh(sid))
