"""One request's session: loading or creating it, the store operations a
:class:`Session` delegates, and applying :mod:`wsgisession.policy`'s
decisions when the headers go out and when the response ends."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.sansio.http import parse_cookie

from .cookie import CookieOptions, SessionCookie
from .errors import SessionError, StoreError
from .policy import (
    CookieAction,
    SessionState,
    StoreAction,
    cookie_action,
    should_set_cookie,
    store_action,
)
from .record import COOKIE_KEY, Record
from .response import Headers, add_vary
from .session import ENVIRON_ID_KEY, ENVIRON_KEY, Session, encode_data

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .middleware import SessionMiddleware

logger = logging.getLogger("wsgisession")

# A cookie value longer than browsers store is not ours.
_MAX_COOKIE_VALUE = 4096


def _short(sid: str | None) -> str:
    # Session ids are bearer credentials: log only enough to correlate.
    return "-" if sid is None else sid[:6] + "…"


class RequestSession:
    """One request's session: loads or creates it when the application first
    uses it, carries out its store operations, and applies the decisions of
    :mod:`wsgisession.policy` when the headers go out and when the response
    ends. A session the application never used is not loaded: its expiry is
    extended with one :meth:`Store.refresh`."""

    __slots__ = (
        "middleware",
        "environ",
        "options",
        "cookie_sent",
        "cookie_id",
        "original_id",
        "original_data",
        "saved",
        "session",
        "loaded",
        "settled",
        "refreshed",
        "destroyed",
        "loaded_expiry",
        "loaded_settings",
        "pending_id",
        "_touched",
        "_secure",
    )

    def __init__(
        self, middleware: SessionMiddleware, environ: WSGIEnvironment, options: CookieOptions
    ) -> None:
        self.middleware = middleware
        self.environ = environ
        self.options = options
        self.loaded = False
        #: The request is over for a session never used (see _settle_unused).
        self.settled = False
        self.refreshed = False
        self.destroyed = False
        self.loaded_expiry = False
        self.loaded_settings: tuple[object, ...] = ()
        self.pending_id: str | None = None
        self._touched = False
        self._secure: bool | None = None
        self.saved: tuple[str, str] | None = None
        value = self._read_cookie()
        self.cookie_sent = value is not None
        self.cookie_id = None if value is None else self._verify(value)
        self.session = middleware.session_class(self)
        environ[ENVIRON_KEY] = self.session
        # As express-session's req.sessionID: the cookie's id (until a load
        # finds it gone), or the id of the session a request without one gets.
        if self.cookie_id is None:
            self.pending_id = self._new_id()
        environ[ENVIRON_ID_KEY] = self.cookie_id or self.pending_id

    @property
    def secure_request(self) -> bool:
        if self._secure is None:
            self._secure = self.middleware.is_secure(self.environ)
        return self._secure

    # Loading and creating.

    def _read_cookie(self) -> str | None:
        header = self.environ.get("HTTP_COOKIE")
        if not header:
            return None
        if not header.isascii():
            # PEP 3333 hands headers over as latin-1. Undecodable bytes in
            # some other cookie of the site must not cost the user their session.
            header = header.encode("latin-1", "replace").decode("utf-8", "replace")
        value: str | None = parse_cookie(header).get(self.middleware.name)
        return value

    def _verify(self, value: str) -> str | None:
        if len(value) > _MAX_COOKIE_VALUE:
            logger.debug("session cookie is %d characters long; ignoring it", len(value))
            return None
        sid = self.middleware.signer.unsign(value)
        if sid is None:
            logger.debug("session cookie is unsigned or its signature is invalid")
        return sid

    def _load(self, sid: str, operation: str = "get") -> Record | None:
        record = self.middleware.call_store(operation, sid)
        if record is not None and not isinstance(record, dict):
            raise StoreError(
                type(self.middleware.store).__name__,
                operation,
                f"returned {type(record).__name__}, not a dict",
            )
        return record

    def _new_id(self) -> str:
        sid = self.middleware.genid(self.environ)
        if not isinstance(sid, str):
            raise TypeError(f"genid must return a str, not {type(sid).__name__}")
        if not sid:
            raise ValueError("genid returned an empty session id")
        return sid

    def _new_cookie(self) -> SessionCookie:
        return SessionCookie.from_options(self.options, secure_request=self.secure_request)

    def _create(self, session: Session) -> None:
        sid, self.pending_id = self.pending_id or self._new_id(), None
        logger.debug("new session %s", _short(sid))
        self.original_id = sid
        self.original_data = "{}"
        session._replace(sid, {}, self._new_cookie())
        self.environ[ENVIRON_ID_KEY] = sid

    def _split(self, record: Record, operation: str) -> tuple[dict[str, Any], SessionCookie]:
        cookie_json = record.get(COOKIE_KEY)
        try:
            if not isinstance(cookie_json, dict):
                raise ValueError("it has no 'cookie' object")
            cookie = SessionCookie.from_json(cookie_json)
        except (ValueError, OverflowError) as error:
            raise StoreError(
                type(self.middleware.store).__name__,
                operation,
                f"returned a malformed session record: {error}",
            ) from error
        return {k: v for k, v in record.items() if k != COOKIE_KEY}, cookie

    def _inflate(self, session: Session, sid: str, record: Record, operation: str) -> None:
        data, cookie = self._split(record, operation)
        logger.debug("loaded session %s", _short(sid))
        self.original_id = sid
        self.original_data = encode_data(data)
        session._replace(sid, data, cookie)
        self.loaded_expiry = cookie.expires is not None
        self.loaded_settings = cookie._settings()
        if not self.middleware.lifecycle.resave:
            self.saved = (sid, self.original_data)
        self.environ[ENVIRON_ID_KEY] = sid

    # The operations a Session delegates here (SessionOwner).

    def _check_alive(self, action: str) -> None:
        if self.destroyed:
            raise SessionError(f"cannot {action} a session that was destroyed")

    def load(self, session: Session) -> None:
        """Load the session the cookie names, or create one when it names
        none the store holds."""
        if self.loaded:
            return
        record = None
        if self.cookie_id is not None:
            # Where the store can, the read extends the expiry too, and the
            # touch at the end is left out (see Store.get_and_refresh).
            operation = "get_and_refresh" if self.middleware.refreshing_loads else "get"
            record = self._load(self.cookie_id, operation)
            if record is None:
                logger.debug("session %s not found in the store", _short(self.cookie_id))
            else:
                self.refreshed = self.refreshed or operation == "get_and_refresh"
                self._inflate(session, self.cookie_id, record, operation)
        if record is None:
            self._create(session)
        self.loaded = True

    def save(self, session: Session) -> None:
        self._check_alive("save")
        self._write(session, session._encoded_data())

    def reload(self, session: Session) -> None:
        self._check_alive("reload")
        record = self._load(session._id)
        if record is None:
            raise SessionError("cannot reload the session: it is no longer in the store")
        data, cookie = self._split(record, "get")
        session._replace(session._id, data, cookie)
        if not self.middleware.lifecycle.resave:
            # The store holds exactly what was just read.
            self.saved = (session._id, encode_data(data))

    def regenerate(self, session: Session, keep_data: bool) -> None:
        self._check_alive("regenerate")
        # Everything that can fail comes before the old id is destroyed.
        sid = self._new_id()
        cookie = self._new_cookie()
        self.middleware.call_store("destroy", session._id)
        logger.debug("regenerated session %s as %s", _short(session._id), _short(sid))
        session._replace(sid, session._data if keep_data else {}, cookie)
        self.environ[ENVIRON_ID_KEY] = sid

    def destroy(self, session: Session) -> None:
        if self.destroyed:
            return
        logger.debug("destroying session %s", _short(session._id))
        self.middleware.call_store("destroy", session._id)
        self.destroyed = True
        if self.environ.get(ENVIRON_KEY) is session:
            self.environ[ENVIRON_KEY] = None

    def is_new(self, session: Session) -> bool:
        return session._id != self.cookie_id

    def is_modified(self, session: Session) -> bool:
        return session._id != self.original_id or session._encoded_data() != self.original_data

    def mark_modified(self, session: Session) -> None:
        # No serialised data is the empty string, so the session now counts
        # as modified and unsaved whatever it holds: it is saved and its
        # cookie renewed.
        self.original_data = ""
        self.saved = None
        session._accessed = True

    def _write(self, session: Session, data: str) -> None:
        logger.debug("saving session %s", _short(session._id))
        self.middleware.call_store("set", session._id, session._record())
        self.saved = (session._id, data)

    # The end of the request.

    def _settle_unused(self) -> bool:
        """Finish with a session the application never used, when the options
        allow it without loading the session: extend its stored expiry with
        one :meth:`Store.refresh`, or do nothing for a request that brought
        no session. Return ``False`` when the session must be loaded (or
        created) and decided on as usual."""
        lifecycle = self.middleware.lifecycle
        if self.environ.get(ENVIRON_KEY) is not self.session:
            # Unset: kept as it is, or destroyed (which needs the cookie's
            # attributes to clear it) as usual.
            return lifecycle.unset == "keep"
        if lifecycle.rolling or lifecycle.resave:
            # A rolling cookie carries the stored session's attributes, and
            # resave rewrites its record.
            return False
        if self.cookie_id is None:
            return not lifecycle.save_uninitialized
        logger.debug("refreshing unused session %s", _short(self.cookie_id))
        if self.middleware.refresh(self.cookie_id):
            self.refreshed = True
            return True
        logger.debug("session %s not found in the store", _short(self.cookie_id))
        if not lifecycle.save_uninitialized:
            return True
        # As express-session would, give the request a new session to send.
        self._create(self.session)
        self.loaded = True
        return False

    def _state(self) -> SessionState | None:
        session = self.session
        if not self.loaded:
            if self.settled or self._settle_unused():
                self.settled = True
                return None
            self.load(session)
        current = self.environ.get(ENVIRON_KEY)
        if self.destroyed:
            presence: Literal["present", "unset", "destroyed"] = "destroyed"
        elif current is session:
            presence = "present"
        elif current is None:
            presence = "unset"
        else:
            raise TypeError(
                "environ['wsgisession'] must be the request's Session or None, not"
                f" {type(current).__name__}"
            )
        if not self._touched and presence == "present":
            self._touched = True
            session._cookie.touch()
        return SessionState(
            cookie_id=self.cookie_id,
            original_id=self.original_id,
            original_data=self.original_data,
            saved=self.saved,
            id=session._id,
            # Data the application never looked at cannot have changed.
            data=(
                session._encoded_data()
                if presence == "present" and session._accessed
                else self.original_data
            ),
            # A persistent cookie the browser holds must also be replaced
            # when the application made it a browser-session one.
            has_expiry=session._cookie.expires is not None or self.loaded_expiry,
            presence=presence,
        )

    def on_headers(self, headers: Headers) -> None:
        """Add the session cookie and ``Vary`` to the response headers, when
        they go out before the end of the response."""
        self._add_headers(headers, self._state())

    def _add_headers(self, headers: Headers, state: SessionState | None) -> None:
        if state is None:
            # Nothing to send for a session never used; but the application
            # may have read environ["wsgisession.id"], the cookie's id.
            if self.cookie_id is not None:
                add_vary(headers, "Cookie")
            return
        cookie = self.session._cookie
        lifecycle = self.middleware.lifecycle
        secure_cookie = cookie.sends_secure
        action = cookie_action(
            state,
            lifecycle,
            cookie_sent=self.cookie_sent,
            secure_cookie=secure_cookie,
            # Only a secure cookie needs to know, so only then is it worked out.
            secure_request=secure_cookie and self.secure_request,
        )
        name = self.middleware.name
        if action is CookieAction.SET:
            logger.debug("set-cookie for session %s", _short(state.id))
            headers.append(
                ("Set-Cookie", cookie.to_header(name, self.middleware.signer.sign(state.id)))
            )
        elif action is CookieAction.CLEAR:
            logger.debug("clearing the cookie of session %s", _short(state.id))
            headers.append(("Set-Cookie", cookie.to_clearing_header(name)))
        elif secure_cookie and should_set_cookie(state, lifecycle):
            logger.debug("not sending a secure cookie over an insecure request")
        # The response may depend on the cookie whenever the application used
        # the session or the cookie carried one (the application may have
        # read environ["wsgisession.id"], which cannot be watched); and a
        # cookie set or cleared must not be cached for others.
        if (
            action is not CookieAction.NOTHING
            or self.session._accessed
            or self.cookie_id is not None
        ):
            add_vary(headers, "Cookie")

    def on_end(self, headers: Headers | None) -> None:
        """Decide the cookie if the headers are still to go, then write the store."""
        state = self._state()
        if headers is not None:
            self._add_headers(headers, state)
        if state is None:
            return
        action = store_action(state, self.middleware.lifecycle)
        if action is StoreAction.SAVE:
            self._write(self.session, state.data)
        elif action is StoreAction.TOUCH:
            if self.refreshed and self.session._cookie._settings() == self.loaded_settings:
                # Already extended, by the lifetime the touch would give, and
                # the rest of the cookie is as stored.
                return
            logger.debug("touching session %s", _short(state.id))
            self.middleware.call_store("touch", state.id, self.session._record())
        elif action is StoreAction.DESTROY:
            logger.debug("destroying unset session %s", _short(state.id))
            self.middleware.call_store("destroy", state.id)
