"""The session object an application sees as ``environ["wsgisession"]``."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

from .record import COOKIE_KEY, Record

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .cookie import SessionCookie

#: The environ key that holds the request's :class:`Session` (or ``None``).
ENVIRON_KEY = "wsgisession"
#: The environ key that holds the request's session id (express-session's
#: ``req.sessionID``), set even after :meth:`Session.destroy`. Until the
#: application first uses the session it is the id the cookie carries (which
#: the load replaces if the store no longer has that session).
ENVIRON_ID_KEY = "wsgisession.id"

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_data(data: dict[str, Any]) -> str:
    """Serialise session data as compact JSON.

    :raises TypeError: naming the key whose value JSON cannot represent.
    """
    try:
        return _encoder.encode(data)
    except (TypeError, ValueError) as error:
        for key, value in data.items():
            try:
                _encoder.encode(value)
            except (TypeError, ValueError) as item_error:
                raise TypeError(
                    f"session value for key {key!r} is not JSON-serialisable: {item_error}"
                ) from item_error
        raise TypeError(f"session data is not JSON-serialisable: {error}") from error


class SessionOwner(Protocol):
    """What carries out a session's store operations: the middleware's state
    for the request the session belongs to."""

    def load(self, session: Session) -> None: ...
    def save(self, session: Session) -> None: ...
    def reload(self, session: Session) -> None: ...
    def regenerate(self, session: Session, keep_data: bool) -> None: ...
    def destroy(self, session: Session) -> None: ...
    def is_new(self, session: Session) -> bool: ...
    def is_modified(self, session: Session) -> bool: ...
    def mark_modified(self, session: Session) -> None: ...


class Session(MutableMapping[str, Any]):
    """A mapping of the session's data, with its id and cookie.

    Values must be JSON-serialisable. The key ``"cookie"`` is reserved for the
    cookie in the stored record and cannot be set. The data is saved at the end
    of the request when it changed, including nested changes such as
    ``session["cart"].append(item)``: changes are found by comparing the
    serialised data with what was loaded.

    Sessions are created by :class:`SessionMiddleware`; applications get them
    from ``environ["wsgisession"]`` or :func:`get_session`. A session is
    loaded from the store when the application first uses it (any attribute,
    method or mapping operation), so a request that never does costs no
    store read.

    .. versionchanged:: 0.1
        Loaded on first use. Sessions are constructed with their owner only.
    """

    __slots__ = ("_id", "_data", "_cookie", "_owner", "_accessed", "__weakref__")

    _id: str
    _data: dict[str, Any]
    _cookie: SessionCookie

    def __init__(self, owner: SessionOwner) -> None:
        self._owner = owner
        # Whether the application has used the session: it is loaded then,
        # and the response varies on the Cookie header.
        self._accessed = False

    def _use(self) -> None:
        # The application's first use: the owner loads (or creates) the
        # session now. Only a successful load counts, so that a store error
        # the application catches leaves nothing half-loaded to be saved.
        self._owner.load(self)
        self._accessed = True

    @property
    def id(self) -> str:
        """The session id."""
        if not self._accessed:
            self._use()
        return self._id

    @property
    def cookie(self) -> SessionCookie:
        """The session's :class:`SessionCookie`."""
        if not self._accessed:
            self._use()
        return self._cookie

    def __getitem__(self, key: str) -> Any:
        if not self._accessed:
            self._use()
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not self._accessed:
            self._use()
        if not isinstance(key, str):
            raise TypeError(f"session keys must be str, not {type(key).__name__}")
        if key == COOKIE_KEY:
            raise ValueError(
                "the session key 'cookie' is reserved; use session.cookie for the cookie"
            )
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        if not self._accessed:
            self._use()
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        if not self._accessed:
            self._use()
        return iter(self._data)

    def __len__(self) -> int:
        if not self._accessed:
            self._use()
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        if not self._accessed:
            self._use()
        return key in self._data

    def __repr__(self) -> str:
        # The id is a bearer credential: keep it out of logs and tracebacks.
        # Nor does a repr load the session.
        if not self._accessed:
            return f"<{type(self).__name__} (not loaded)>"
        return f"<{type(self).__name__} keys={list(self._data)!r}>"

    @property
    def new(self) -> bool:
        """Whether the request did not bring this session: it was created in
        this request (or regenerated), so its cookie is yet to be sent."""
        if not self._accessed:
            self._use()
        return self._owner.is_new(self)

    @property
    def modified(self) -> bool:
        """Whether the id or the data differ from what the request started
        with, so that the session will be saved."""
        if not self._accessed:
            self._use()
        return self._owner.is_modified(self)

    def touch(self) -> None:
        """Restart the cookie's expiry: ``cookie.max_age`` becomes
        ``cookie.original_max_age``. The middleware does this on every request."""
        if not self._accessed:
            self._use()
        self._cookie.touch()

    def save(self) -> None:
        """Write the session to the store now.

        It is saved automatically at the end of the request when modified;
        call this to save earlier, for example before a long response.

        :raises StoreError: when the store fails.
        :raises TypeError: when a value is not JSON-serialisable.
        """
        if not self._accessed:
            self._use()
        self._owner.save(self)

    def reload(self) -> None:
        """Replace the data and cookie with what the store holds now.

        :raises SessionError: when the session is no longer in the store.
        :raises StoreError: when the store fails.
        """
        if not self._accessed:
            self._use()
        self._owner.reload(self)

    def regenerate(self, keep_data: bool = False) -> None:
        """Give the session a new id, destroying the old one in the store.

        Call it when a user logs in, against session fixation. The data
        starts empty, or with ``keep_data=True`` is carried over to the new id.
        The cookie starts afresh from the middleware's cookie options.

        :raises StoreError: when the store fails to destroy the old id;
            the session is then unchanged.

        .. versionadded:: 0.1
            ``keep_data``, which express-session lacks (its issue #425).
        """
        if not self._accessed:
            self._use()
        self._owner.regenerate(self, keep_data)

    def destroy(self) -> None:
        """Delete the session from the store and end it.

        ``environ["wsgisession"]`` becomes ``None`` and the response removes
        the browser's cookie. The object is detached: changing it afterwards
        saves nothing.

        :raises StoreError: when the store fails.
        """
        if not self._accessed:
            self._use()
        self._owner.destroy(self)

    # Used by the middleware; not part of the public API.

    def _replace(self, sid: str, data: dict[str, Any], cookie: SessionCookie) -> None:
        self._id = sid
        self._data = data
        self._cookie = cookie

    def _encoded_data(self) -> str:
        return encode_data(self._data)

    def _record(self) -> Record:
        return {COOKIE_KEY: self._cookie.to_json(), **self._data}


def get_session(environ: WSGIEnvironment) -> Session | None:
    """The request's session, or ``None`` when it has none (the path is outside
    the cookie's path, the session was destroyed, or the middleware is not
    installed)."""
    session = environ.get(ENVIRON_KEY)
    return session if isinstance(session, Session) else None
