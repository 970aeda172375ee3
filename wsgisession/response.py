"""WSGI response plumbing: a ``start_response`` that waits, and a body that
holds back its last chunk until the application is done.

The middleware needs two moments that WSGI does not mark: when the headers
really go out (to decide the cookie as late as possible) and when the
application has finished (to write the session before the client holds the
whole response). :class:`DeferredResponse` makes both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from werkzeug.http import parse_set_header

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse

Headers = list[tuple[str, str]]


def add_vary(headers: Headers, field: str) -> None:
    """Make ``headers`` vary on ``field``, merged into the first ``Vary`` there."""
    first = None
    for index, (key, value) in enumerate(headers):
        if key.lower() == "vary":
            fields = parse_set_header(value)
            if "*" in fields or field in fields:
                return
            if first is None:
                first = index
    if first is None:
        headers.append(("Vary", field))
    else:
        key, value = headers[first]
        headers[first] = (key, f"{value}, {field}" if value.strip() else field)


class DeferredResponse:
    """Stands between an application and the server's ``start_response``.

    The real ``start_response`` is called when the first non-empty chunk is
    about to be sent, after ``on_headers(headers)`` had its chance to add
    headers. When the application's body is exhausted, ``on_end(headers)`` runs
    before the last chunk is handed over; ``headers`` is the header list still to
    be sent, or ``None`` when the headers already left (a body of several
    chunks). A body of one chunk therefore runs ``on_end`` before any byte
    leaves. A response abandoned early (the server closes it) never runs
    ``on_end``.
    """

    __slots__ = (
        "_start_response",
        "_on_headers",
        "_on_end",
        "_status",
        "_headers",
        "_exc_info",
        "_write",
        "_held",
    )

    def __init__(
        self,
        start_response: StartResponse,
        *,
        on_headers: Callable[[Headers], None],
        on_end: Callable[[Headers | None], None],
    ) -> None:
        self._start_response = start_response
        self._on_headers = on_headers
        self._on_end = on_end
        self._status: str | None = None
        self._headers: Headers = []
        self._exc_info: OptExcInfo | None = None
        self._write: Callable[[bytes], object] | None = None
        # The last chunk seen, not yet sent.
        self._held: bytes | None = None

    def start_response(
        self, status: str, headers: Headers, exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        """The ``start_response`` the application is given."""
        if exc_info is not None:
            if self._write is not None:
                # Too late to change the headers: re-raise, as PEP 3333 asks.
                raise exc_info[1].with_traceback(exc_info[2])  # type: ignore[union-attr]
            # The error page replaces the response, body held so far included.
            self._held = None
        elif self._status is not None:
            raise RuntimeError("start_response() was called twice without exc_info")
        self._status = status
        self._headers = list(headers)
        self._exc_info = exc_info
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable that ``start_response`` returns."""
        if not data:
            return
        held = self._hold(data)
        if held is not None:
            assert self._write is not None
            self._write(held)

    def iterate(self, body: Iterable[bytes]) -> Iterator[bytes]:
        """The application's body, with the last chunk held back until
        ``on_end`` has run."""
        for chunk in body:
            if chunk:
                held = self._hold(chunk)
                if held is not None:
                    yield held
        if self._status is None:
            raise RuntimeError("the application returned without calling start_response()")
        if self._write is None:
            self._on_end(self._headers)
            self._begin()
        else:
            self._on_end(None)
        held, self._held = self._held, None
        if held is not None:
            yield held

    def _hold(self, data: bytes) -> bytes | None:
        # Keep ``data`` back and return the chunk it replaces, which may now
        # be sent: the headers go out first.
        if self._status is None:
            raise RuntimeError("the application sent body data before calling start_response()")
        held, self._held = self._held, data
        if held is not None and self._write is None:
            self._on_headers(self._headers)
            self._begin()
        return held

    def _begin(self) -> None:
        assert self._status is not None
        self._write = self._start_response(self._status, self._headers, self._exc_info)
        self._exc_info = None
