"""The interface every session store implements."""

from __future__ import annotations

import abc
import math
import time
from types import TracebackType

from ..errors import StoreError
from ..record import Record, restart_expiry

#: How long a record whose cookie has no expiry lives in a store, in seconds.
DEFAULT_TTL = 86400


class Store(abc.ABC):
    """Where sessions live between requests.

    Records are JSON-able dicts in express-session's shape (see
    :mod:`wsgisession.record`). A store honours expiry on every read: a record
    whose cookie ``expires`` has passed is never returned, and a record without
    one lives for the store's default TTL.

    Subclasses implement :meth:`get`, :meth:`set` and :meth:`destroy`, and
    should implement :meth:`touch`, :meth:`refresh` and
    :meth:`get_and_refresh` with the cheapest operation the backend has.
    :meth:`all`, :meth:`clear` and :meth:`length` are optional. Failures are
    raised as :class:`~wsgisession.StoreError` chained from the driver's error;
    :meth:`errors` does that conversion.
    """

    @abc.abstractmethod
    def get(self, sid: str) -> Record | None:
        """The record stored for ``sid``, or ``None`` when missing or expired."""

    @abc.abstractmethod
    def set(self, sid: str, record: Record) -> None:
        """Store ``record`` for ``sid``, replacing any earlier one. A record
        whose expiry has already passed is removed instead."""

    @abc.abstractmethod
    def destroy(self, sid: str) -> None:
        """Remove ``sid``; no error when it is missing."""

    def touch(self, sid: str, record: Record) -> None:  # noqa: B027 - optional on purpose
        """Extend the expiry of ``sid`` to that of ``record``'s cookie,
        leaving its data as stored; a missing or expired ``sid`` is left alone.

        The middleware calls it for a session it loaded and did not save
        (``resave=False``). The default does nothing, as express-session does
        for a store without ``touch``: such sessions then live only as long
        as their last save. Stores implement it with their cheapest operation,
        such as Redis ``PEXPIRE``.
        """

    def refresh(self, sid: str) -> bool:
        """Extend the expiry of ``sid`` as :meth:`touch` would at the end of a
        request, without reading its record into Python: to now plus the
        stored cookie's ``originalMaxAge``, or the default TTL for a record
        without one. Return whether ``sid`` was stored and unexpired; a
        missing or expired ``sid`` is left alone.

        The middleware calls it for a session the application never used, so
        that such a request costs no store read. The default reads the record
        and passes it to :meth:`touch` with its expiry restarted; stores
        override it with one cheap operation (the shipped ones: a Redis
        script, an ``UPDATE`` of the expiry column).

        .. versionadded:: 0.1
        """
        return Store.get_and_refresh(self, sid) is not None

    def get_and_refresh(self, sid: str) -> Record | None:
        """:meth:`get` and :meth:`refresh` in one: the record stored for
        ``sid`` as :meth:`get` would return it, while its expiry is extended
        as :meth:`refresh` does; ``None`` when missing or expired.

        When a store overrides it, the middleware (with ``resave=False``)
        loads sessions with it and leaves out the touch at the end of the
        request, unless the application changed the cookie: a request that
        reads its session then costs one store operation (see
        :func:`own_shortcut` for subclasses). The default reads the record
        and touches it with its expiry restarted, and the middleware does not
        use it; the shipped stores override it with one operation (a Redis
        script, an ``UPDATE ... RETURNING``).

        .. versionadded:: 0.1
        """
        record = self.get(sid)
        if record is not None:
            self.touch(sid, restart_expiry(record, now=time.time()))
        return record

    def all(self) -> dict[str, Record]:
        """Every unexpired record, keyed by session id (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not support all()")

    def clear(self) -> None:
        """Remove every session (optional)."""
        raise NotImplementedError(f"{type(self).__name__} does not support clear()")

    def length(self) -> int:
        """The number of unexpired sessions (optional; defaults to ``len(all())``)."""
        return len(self.all())

    def errors(self, operation: str) -> StoreErrors:
        """A context manager that turns any exception raised inside it into a
        :class:`~wsgisession.StoreError` naming this store and ``operation``.

        ::

            def get(self, sid):
                with self.errors("get"):
                    return self._client.get(sid)
        """
        return StoreErrors(type(self).__name__, operation)


def own_shortcut(store: Store, name: str) -> bool:
    """Whether ``store`` has a ``name`` (``refresh``, ``get_and_refresh``) of
    its own that stands for its ``get`` and ``touch``: defined by a class at
    least as derived as the ones that define those. A subclass of a shipped
    store that changes ``get`` or ``touch`` (decryption, say) is then not
    bypassed by the shortcut it inherits; the middleware falls back to
    ``Store``'s own, which calls them."""
    mro = type(store).__mro__

    def owner(method: str) -> type:
        return next(cls for cls in mro if method in vars(cls))

    shortcut = owner(name)
    return shortcut is not Store and all(
        issubclass(shortcut, owner(method)) for method in ("get", "touch")
    )


class StoreErrors:
    """What :meth:`Store.errors` returns. A class rather than a generator,
    since it wraps every store call of every request."""

    __slots__ = ("store", "operation")

    def __init__(self, store: str, operation: str) -> None:
        self.store = store
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Returning None lets the exception, or none, through unchanged.
        if isinstance(error, Exception) and not isinstance(error, StoreError):
            raise StoreError(self.store, self.operation) from error


def positive_seconds(store: str, name: str, value: object) -> float:
    """Check a store option given in seconds; return it as a float.

    :raises TypeError: when it is not a number.
    :raises ValueError: when it is not finite and positive.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{store} option {name!r} must be seconds, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{store} option {name!r} must be positive, not {value!r}")
    return float(value)


def positive_int(store: str, name: str, value: object) -> int:
    """Check a store option that counts something.

    :raises ValueError: when it is not a positive int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{store} option {name!r} must be a positive int, not {value!r}")
    return value
