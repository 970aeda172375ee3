"""The exceptions wsgisession raises.

Every exception is a :class:`SessionError`, so ``except SessionError`` catches
anything this library raises on purpose. Bad client input (a tampered or
malformed cookie) is never an exception: it gives the request a new session.
"""

from __future__ import annotations


class SessionError(Exception):
    """Base class of the errors wsgisession raises.

    Raised directly when a session operation cannot be carried out, for example
    :meth:`Session.reload` on a session that is no longer in the store.
    """


class StoreError(SessionError):
    """A session store failed to carry out an operation.

    The driver's own exception is chained as ``__cause__``. The middleware lets
    it propagate, so the server answers 500 instead of telling the client that
    a request succeeded whose session was never written.

    :param store: the name of the store, usually its class name.
    :param operation: the store method that failed (``"get"``, ``"set"``, ...).
    :param message: what went wrong; defaults to the chained exception's text.
    """

    def __init__(self, store: str, operation: str, message: str | None = None) -> None:
        #: The name of the store that failed.
        self.store = store
        #: The store method that failed.
        self.operation = operation
        self.message = message
        super().__init__(store, operation, message)

    def __str__(self) -> str:
        detail = self.message
        if detail is None and self.__cause__ is not None:
            detail = f"{type(self.__cause__).__name__}: {self.__cause__}"
        text = f"{self.store}.{self.operation}() failed"
        return f"{text}: {detail}" if detail else text
