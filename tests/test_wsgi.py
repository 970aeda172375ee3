"""The WSGI protocol rules of SPEC §6: when the headers go out, when the store
is written, ``exc_info``, ``write()``, ``close()``, ``Vary`` and errors.

Most tests run the middleware under :class:`FakeServer`, a WSGI server in
miniature that records the moment ``start_response`` reached it and every
chunk it was handed, so the order of headers, body and store writes can be
observed from inside the server.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Response

import wsgisession
from wsgisession import MemoryStore, Session, SessionError, StoreError, get_session

from .conftest import (
    FailingStore,
    RecordingStore,
    make_client,
    make_middleware,
    session_app,
    session_cookie,
    sid_from,
)

Headers = list[tuple[str, str]]
WSGIApp = Callable[..., Any]

COOKIE = "connect.sid"


class FakeServer:
    """Runs a WSGI application as a server does, and records what it sees.

    ``events`` lists, in order, ``("returned", None)`` when the application
    callable returned, ``("start", status)`` when ``start_response`` reached
    the server, ``("write", data)`` for the legacy ``write()`` and
    ``("chunk", data)`` for each item of the iterable. ``on_start`` and
    ``on_chunk`` run at those moments, so a test can look at the store then.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        on_start: Callable[[FakeServer], None] | None = None,
        on_chunk: Callable[[FakeServer, bytes], None] | None = None,
    ) -> None:
        self.app = app
        self.on_start = on_start
        self.on_chunk = on_chunk
        self.events: list[tuple[str, Any]] = []
        self.status: str | None = None
        self.headers: Headers = []
        self.body: list[bytes] = []
        self.start_calls = 0
        self.exc_infos: list[Any] = []

    @property
    def headers_sent(self) -> bool:
        return any(kind in ("write", "chunk") and data for kind, data in self.events)

    def start_response(self, status: str, headers: Headers, exc_info: Any = None) -> Any:
        if exc_info is not None and self.headers_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        if exc_info is None and self.status is not None:
            raise AssertionError("the server's start_response was called twice")
        self.start_calls += 1
        self.exc_infos.append(exc_info)
        self.status = status
        self.headers = list(headers)
        self.events.append(("start", status))
        if self.on_start is not None:
            self.on_start(self)
        return self.write

    def _receive(self, kind: str, data: bytes) -> None:
        if data and self.status is None:
            raise AssertionError("body data reached the server before start_response")
        self.events.append((kind, data))
        self.body.append(data)
        if self.on_chunk is not None and data:
            self.on_chunk(self, data)

    def write(self, data: bytes) -> None:
        self._receive("write", data)

    def run(
        self, environ: dict[str, Any], *, max_chunks: int | None = None, iterate: bool = True
    ) -> bytes:
        """Call the application and consume its body (at most ``max_chunks``
        items, or none when ``iterate`` is false); always call ``close()``."""
        result = self.app(environ, self.start_response)
        self.events.append(("returned", None))
        try:
            if iterate:
                for count, chunk in enumerate(result, 1):
                    self._receive("chunk", chunk)
                    if max_chunks is not None and count >= max_chunks:
                        break
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return b"".join(self.body)

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def session_header(self) -> str | None:
        for value in self.header_values("Set-Cookie"):
            if value.startswith(COOKIE + "="):
                return value
        return None

    def sid(self) -> str | None:
        header = self.session_header()
        if header is None:
            return None
        value = unquote(header.split(";", 1)[0].split("=", 1)[1])
        return value[2:].rsplit(".", 1)[0]


class Body:
    """An application iterable with a ``close()`` that counts its calls;
    ``fail_at`` makes iteration raise before that item."""

    def __init__(self, chunks: list[bytes], *, fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise RuntimeError("the body failed")
            yield chunk

    def close(self) -> None:
        self.closed += 1


def make_environ(
    path: str = "/", *, cookie: str | None = None, method: str = "GET", **overrides: Any
) -> dict[str, Any]:
    headers = [("Cookie", cookie)] if cookie else []
    builder = EnvironBuilder(path=path, method=method, headers=headers)
    try:
        environ: dict[str, Any] = builder.get_environ()
    finally:
        builder.close()
    environ.update(overrides)
    return environ


def seed(store: MemoryStore, **data: Any) -> tuple[str, str]:
    """Create a session holding ``data`` in ``store``; return its id and the
    ``Cookie`` request header that carries it."""
    client = make_client(lambda session, environ: session.update(data), store=store)
    response = client.get("/")
    header = session_cookie(response)
    sid = sid_from(response)
    assert header is not None
    assert sid is not None
    return sid, header.split(";", 1)[0]


def stored_data(store: MemoryStore, sid: str) -> dict[str, Any] | None:
    record = store.get(sid)
    if record is None:
        return None
    return {key: value for key, value in record.items() if key != "cookie"}


def modifying_app(chunks: list[bytes], **data: Any) -> WSGIApp:
    """An app that puts ``data`` in the session and answers ``chunks``."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgisession"].update(data)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return list(chunks)

    return app


# The real start_response and the cookie decision.


class TestDeferredStartResponse:
    def test_not_called_while_the_app_runs(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [("Content-Type", "text/plain")])
            assert server.start_calls == 0
            return [b"hello"]

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"hello"
        assert server.events[0] == ("returned", None)
        assert server.start_calls == 1

    def test_waits_for_the_first_nonempty_chunk(self) -> None:
        seen: list[int] = []

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [("Content-Type", "text/plain")])

            def body() -> Iterator[bytes]:
                seen.append(server.start_calls)
                yield b""
                seen.append(server.start_calls)
                yield b""
                seen.append(server.start_calls)
                yield b"one"
                yield b"two"

            return body()

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"onetwo"
        assert seen == [0, 0, 0]
        kinds = [kind for kind, data in server.events if kind == "start" or data]
        assert kinds == ["start", "chunk", "chunk"]

    def test_status_and_headers_pass_through(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["x"] = 1
            start_response("201 Created", [("Content-Type", "text/plain"), ("X-App", "yes")])
            return [b"made"]

        server = FakeServer(make_middleware(app))
        server.run(make_environ())
        assert server.status == "201 Created"
        assert ("X-App", "yes") in server.headers
        assert ("Content-Type", "text/plain") in server.headers
        assert server.session_header() is not None

    def test_start_response_reaches_the_server_once(self) -> None:
        app = modifying_app([b"a", b"b", b"c"], x=1)
        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"abc"
        assert server.start_calls == 1


def _mutate_in_app(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    environ["wsgisession"]["user"] = "ada"
    return [b"hi"]


def _mutate_in_body(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Iterator[bytes]:
        environ["wsgisession"]["user"] = "ada"
        yield b"hi"

    return body()


def _mutate_between_empty_chunks(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Iterator[bytes]:
        yield b""
        environ["wsgisession"]["user"] = "ada"
        yield b""
        yield b"hi"
        yield b"there"

    return body()


def _mutate_before_write(environ: dict[str, Any], start_response: Any) -> Any:
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    environ["wsgisession"]["user"] = "ada"
    write(b"hi")
    return []


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(_mutate_in_app, id="after-start_response"),
        pytest.param(_mutate_in_body, id="in-body-before-first-chunk"),
        pytest.param(_mutate_between_empty_chunks, id="between-empty-chunks"),
        pytest.param(_mutate_before_write, id="before-write"),
    ],
)
def test_mutation_before_the_first_chunk_counts_for_the_cookie(app: WSGIApp) -> None:
    store = MemoryStore()
    server = FakeServer(make_middleware(app, store=store, save_uninitialized=False))
    server.run(make_environ())
    sid = server.sid()
    assert sid is not None, "the modification came before any output: the cookie must be sent"
    assert stored_data(store, sid) == {"user": "ada"}
    assert ("Vary", "Cookie") in server.headers


def test_modification_after_the_headers_left_is_still_saved() -> None:
    store = MemoryStore()
    sid, cookie = seed(store, step=0)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body() -> Iterator[bytes]:
            yield b"a"
            yield b"b"
            yield b"c"
            environ["wsgisession"]["step"] = 1
            yield b"d"

        return body()

    server = FakeServer(make_middleware(app, store=store, resave=False))
    assert server.run(make_environ(cookie=cookie)) == b"abcd"
    assert stored_data(store, sid) == {"step": 1}


# When the store write lands.


def _list_app(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"welcome"]


def _redirect_app(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    return Response(status=302, headers={"Location": "/home"})(environ, start_response)


def _generator_app(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Iterator[bytes]:
        environ["wsgisession"]["user"] = "ada"
        yield b""
        yield b"welcome"
        yield b""

    return body()


def _write_app(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"welcome")
    return []


def _empty_app(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    start_response("204 No Content", [])
    return []


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(_list_app, id="list"),
        pytest.param(_redirect_app, id="werkzeug-redirect"),
        pytest.param(_generator_app, id="generator-one-chunk"),
        pytest.param(_write_app, id="one-write"),
        pytest.param(_empty_app, id="empty-body"),
    ],
)
def test_one_chunk_response_is_saved_before_the_headers_leave(app: WSGIApp) -> None:
    store = MemoryStore()
    at_start: list[dict[str, Any] | None] = []

    def on_start(server: FakeServer) -> None:
        sid = server.sid()
        assert sid is not None
        at_start.append(stored_data(store, sid))

    server = FakeServer(make_middleware(app, store=store), on_start=on_start)
    server.run(make_environ())
    assert at_start == [{"user": "ada"}]


def test_one_chunk_save_of_a_loaded_session_lands_before_the_headers() -> None:
    store = MemoryStore()
    sid, cookie = seed(store, user="ada")
    at_start: list[dict[str, Any] | None] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgisession"]["user"] = "bob"
        return Response(status=303, headers={"Location": "/done"})(environ, start_response)

    server = FakeServer(
        make_middleware(app, store=store, resave=False),
        on_start=lambda server: at_start.append(stored_data(store, sid)),
    )
    server.run(make_environ(cookie=cookie))
    assert at_start == [{"user": "bob"}]


@pytest.mark.parametrize(
    ("view", "operations"),
    [
        pytest.param(lambda s, e: s["user"], ["get", "touch"], id="read"),
        pytest.param(lambda s, e: "hi", ["refresh"], id="unused"),
    ],
)
def test_one_chunk_touch_lands_before_the_headers(
    view: Callable[[Session, Any], str], operations: list[str]
) -> None:
    store = RecordingStore()
    _, cookie = seed(store, user="ada")
    store.operations()
    at_start: list[list[str]] = []

    server = FakeServer(
        make_middleware(session_app(view), store=store, resave=False),
        on_start=lambda server: at_start.append(list(store.operations())),
    )
    server.run(make_environ(cookie=cookie))
    assert at_start == [operations]


def test_one_chunk_unset_destroy_lands_before_the_headers() -> None:
    store = MemoryStore()
    sid, cookie = seed(store, user="ada")
    at_start: list[dict[str, Any] | None] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        del environ["wsgisession"]
        start_response("200 OK", [])
        return [b"bye"]

    server = FakeServer(
        make_middleware(app, store=store, unset="destroy"),
        on_start=lambda server: at_start.append(store.get(sid)),
    )
    server.run(make_environ(cookie=cookie))
    assert at_start == [None]


def _chunked_generator(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    start_response("200 OK", [("Content-Type", "text/plain")])

    def body() -> Iterator[bytes]:
        yield b"a"
        yield b""
        yield b"b"
        yield b"c"

    return body()


def _chunked_writes(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"a")
    write(b"b")
    write(b"c")
    return []


def _write_then_iterable(environ: dict[str, Any], start_response: Any) -> Any:
    environ["wsgisession"]["user"] = "ada"
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"a")
    return [b"b", b"c"]


@pytest.mark.parametrize(
    "app",
    [
        pytest.param(_chunked_generator, id="generator"),
        pytest.param(_chunked_writes, id="write-calls"),
        pytest.param(_write_then_iterable, id="write-and-iterable"),
    ],
)
def test_multi_chunk_response_is_saved_before_the_last_chunk(app: WSGIApp) -> None:
    store = MemoryStore()
    arrivals: list[tuple[bytes, dict[str, Any] | None]] = []

    def on_chunk(server: FakeServer, chunk: bytes) -> None:
        sid = server.sid()
        assert sid is not None
        arrivals.append((chunk, stored_data(store, sid)))

    server = FakeServer(make_middleware(app, store=store), on_chunk=on_chunk)
    assert server.run(make_environ()) == b"abc"
    assert [chunk for chunk, _ in arrivals] == [b"a", b"b", b"c"]
    assert arrivals[-1][1] == {"user": "ada"}


def test_multi_chunk_save_is_done_once() -> None:
    store = RecordingStore()
    server = FakeServer(make_middleware(_chunked_generator, store=store))
    server.run(make_environ())
    assert store.operations() == ["set"]


# Empty bodies and HEAD.


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="empty-list"),
        pytest.param([b""], id="one-empty-chunk"),
        pytest.param([b"", b"", b""], id="empty-chunks"),
        pytest.param(iter(()), id="empty-iterator"),
    ],
)
def test_empty_body_still_sends_headers_and_saves(body: Any) -> None:
    store = MemoryStore()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgisession"]["user"] = "ada"
        start_response("200 OK", [("Content-Length", "0")])
        return body

    server = FakeServer(make_middleware(app, store=store))
    assert server.run(make_environ()) == b""
    assert server.start_calls == 1
    assert server.status == "200 OK"
    sid = server.sid()
    assert sid is not None
    assert stored_data(store, sid) == {"user": "ada"}


def test_empty_chunks_are_not_forwarded_before_the_headers() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return [b"", b"", b"x"]

    server = FakeServer(make_middleware(app))
    assert server.run(make_environ()) == b"x"
    assert server.events[1][0] == "start"


@pytest.mark.parametrize("status", [204, 304])
def test_werkzeug_response_without_body(status: int) -> None:
    store = MemoryStore()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgisession"]["user"] = "ada"
        return Response(status=status)(environ, start_response)

    client = Client(make_middleware(app, store=store))
    response = client.get("/")
    assert response.status_code == status
    assert response.get_data() == b""
    sid = sid_from(response)
    assert sid is not None
    assert stored_data(store, sid) == {"user": "ada"}


class TestHead:
    def test_head_sets_the_cookie_and_saves(self) -> None:
        store = MemoryStore()
        client = make_client(lambda session, environ: session.update(user="ada"), store=store)
        response = client.head("/")
        assert response.get_data() == b""
        sid = sid_from(response)
        assert sid is not None
        assert stored_data(store, sid) == {"user": "ada"}
        assert "Cookie" in response.headers.get("Vary", "")

    def test_head_loads_the_session(self) -> None:
        store = MemoryStore()
        _, cookie = seed(store, n=5)
        seen: list[Any] = []
        app = session_app(lambda session, environ: seen.append(session.get("n")))
        client = Client(make_middleware(app, store=store), use_cookies=False)
        response = client.head("/", headers={"Cookie": cookie})
        assert seen == [5]
        assert response.status_code == 200

    def test_head_through_the_fake_server(self) -> None:
        store = MemoryStore()

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["user"] = "ada"
            start_response("200 OK", [("Content-Length", "5")])
            return []

        server = FakeServer(make_middleware(app, store=store))
        server.run(make_environ(method="HEAD"))
        sid = server.sid()
        assert sid is not None
        assert stored_data(store, sid) == {"user": "ada"}


# The legacy write() callable.


class TestWrite:
    def test_write_only_app(self) -> None:
        store = MemoryStore()

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            environ["wsgisession"]["user"] = "ada"
            write(b"hello")
            write(b" ")
            write(b"world")
            return []

        server = FakeServer(make_middleware(app, store=store))
        assert server.run(make_environ()) == b"hello world"
        sid = server.sid()
        assert sid is not None
        assert stored_data(store, sid) == {"user": "ada"}

    def test_write_returns_after_start_response(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [])
            assert callable(write)
            write(b"")
            write(b"x")
            return []

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"x"

    def test_mixed_write_and_iterable_keep_their_order(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [])
            write(b"1")
            write(b"2")
            return iter([b"3", b"", b"4"])

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"1234"

    def test_headers_reach_the_server_before_written_data(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [])
            write(b"a")
            write(b"b")
            return [b"c"]

        server = FakeServer(make_middleware(app))
        server.run(make_environ())
        data_events = [kind for kind, data in server.events if kind == "start" or data]
        assert data_events[0] == "start"
        assert [data for kind, data in server.events if kind in ("write", "chunk") and data] == [
            b"a",
            b"b",
            b"c",
        ]


# exc_info.


class TestExcInfo:
    def test_before_the_headers_left_it_replaces_status_and_headers(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["user"] = "ada"
            start_response("200 OK", [("Content-Type", "text/html"), ("X-First", "1")])
            try:
                raise ValueError("boom")
            except ValueError:
                start_response(
                    "500 Internal Server Error",
                    [("Content-Type", "text/plain"), ("X-Error", "1")],
                    sys.exc_info(),
                )
            return [b"error page"]

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"error page"
        assert server.start_calls == 1
        assert server.status == "500 Internal Server Error"
        assert ("X-Error", "1") in server.headers
        assert ("X-First", "1") not in server.headers
        assert server.header_values("Content-Type") == ["text/plain"]
        assert server.session_header() is not None

    def test_held_body_is_dropped_by_the_replacement(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [])
            write(b"partial")
            try:
                raise ValueError("boom")
            except ValueError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"error page"]

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"error page"
        assert server.status == "500 Internal Server Error"

    def test_first_call_may_carry_exc_info(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            try:
                raise ValueError("boom")
            except ValueError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"oops"]

        server = FakeServer(make_middleware(app))
        assert server.run(make_environ()) == b"oops"
        assert server.status == "500 Internal Server Error"

    def test_after_the_headers_left_it_reraises(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [])

            def body() -> Iterator[bytes]:
                yield b"a"
                yield b"b"
                try:
                    raise ValueError("too late")
                except ValueError:
                    start_response("500 Internal Server Error", [], sys.exc_info())
                yield b"never"

            return body()

        server = FakeServer(make_middleware(app))
        with pytest.raises(ValueError, match="too late"):
            server.run(make_environ())
        assert server.status == "200 OK"
        assert server.start_calls == 1
        assert b"never" not in server.body

    def test_after_a_write_it_reraises(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            write = start_response("200 OK", [])
            write(b"a")
            write(b"b")
            try:
                raise KeyError("late")
            except KeyError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            return [b"never"]

        server = FakeServer(make_middleware(app))
        with pytest.raises(KeyError, match="late"):
            server.run(make_environ())
        assert server.status == "200 OK"

    def test_start_response_twice_without_exc_info_is_an_error(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [])
            start_response("404 Not Found", [])
            return [b"x"]

        server = FakeServer(make_middleware(app))
        with pytest.raises(RuntimeError):
            server.run(make_environ())
        assert server.start_calls == 0


# close().


class TestClose:
    def test_called_at_the_normal_end(self) -> None:
        body = Body([b"a", b"b"])
        server = FakeServer(
            make_middleware(lambda environ, start_response: _start(start_response, body))
        )
        assert server.run(make_environ()) == b"ab"
        assert body.closed == 1

    def test_called_for_a_one_chunk_body(self) -> None:
        body = Body([b"a"])
        server = FakeServer(
            make_middleware(lambda environ, start_response: _start(start_response, body))
        )
        server.run(make_environ())
        assert body.closed == 1

    def test_called_when_iteration_raises(self) -> None:
        store = MemoryStore()
        body = Body([b"a", b"b", b"c"], fail_at=2)
        server = FakeServer(
            make_middleware(
                lambda environ, start_response: _start(start_response, body), store=store
            )
        )
        with pytest.raises(RuntimeError, match="the body failed"):
            server.run(make_environ())
        assert body.closed == 1
        assert store.length() == 0

    def test_called_when_the_server_stops_early(self) -> None:
        store = MemoryStore()
        body = Body([b"a", b"b", b"c", b"d"])
        server = FakeServer(
            make_middleware(
                lambda environ, start_response: _start(start_response, body), store=store
            )
        )
        assert server.run(make_environ(), max_chunks=1) == b"a"
        assert body.closed == 1

    def test_called_when_the_server_never_iterates(self) -> None:
        store = MemoryStore()
        body = Body([b"a", b"b"])
        server = FakeServer(
            make_middleware(
                lambda environ, start_response: _start(start_response, body), store=store
            )
        )
        assert server.run(make_environ(), iterate=False) == b""
        assert body.closed == 1
        assert server.start_calls == 0
        assert store.length() == 0

    def test_called_when_the_save_fails(self) -> None:
        body = Body([b"a", b"b"])

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["user"] = "ada"
            return _start(start_response, body)

        server = FakeServer(make_middleware(app, store=FailingStore("set")))
        with pytest.raises(StoreError):
            server.run(make_environ())
        assert body.closed == 1

    def test_called_when_a_value_cannot_be_serialised(self) -> None:
        body = Body([b"a"])

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["bad"] = {1, 2}
            return _start(start_response, body)

        server = FakeServer(make_middleware(app))
        with pytest.raises(TypeError):
            server.run(make_environ())
        assert body.closed == 1

    def test_app_without_close(self) -> None:
        server = FakeServer(
            make_middleware(lambda environ, start_response: _start(start_response, (b"x",)))
        )
        assert server.run(make_environ()) == b"x"


def _start(start_response: Any, body: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return body


# Responses that never finish, and applications that fail.


class TestAbandoned:
    @pytest.mark.parametrize("max_chunks", [1, 2])
    def test_new_session_is_not_saved(self, max_chunks: int) -> None:
        store = RecordingStore()
        app = modifying_app([b"a", b"b", b"c", b"d"], user="ada")
        server = FakeServer(make_middleware(app, store=store))
        server.run(make_environ(), max_chunks=max_chunks)
        assert store.length() == 0
        assert store.operations() == []

    def test_loaded_session_is_not_saved_nor_touched(self) -> None:
        store = RecordingStore()
        sid, cookie = seed(store, user="ada")
        store.operations()
        app = modifying_app([b"a", b"b", b"c"], user="bob")
        server = FakeServer(make_middleware(app, store=store, resave=False))
        server.run(make_environ(cookie=cookie), max_chunks=1)
        assert store.operations() == ["get"]
        assert stored_data(store, sid) == {"user": "ada"}

    def test_closed_without_iterating_is_not_saved(self) -> None:
        store = RecordingStore()
        server = FakeServer(make_middleware(modifying_app([b"a"], user="ada"), store=store))
        server.run(make_environ(), iterate=False)
        assert store.operations() == []


class TestAppErrors:
    def test_exception_before_returning_does_not_save(self) -> None:
        store = RecordingStore()

        def view(session: Session, environ: dict[str, Any]) -> None:
            session["user"] = "ada"
            raise RuntimeError("view failed")

        client = make_client(view, store=store)
        with pytest.raises(RuntimeError, match="view failed"):
            client.get("/")
        assert store.length() == 0
        assert store.operations() == []

    def test_exception_does_not_overwrite_a_loaded_session(self) -> None:
        store = MemoryStore()
        sid, cookie = seed(store, user="ada")

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["user"] = "mallory"
            raise RuntimeError("view failed")

        server = FakeServer(make_middleware(app, store=store))
        with pytest.raises(RuntimeError):
            server.run(make_environ(cookie=cookie))
        assert stored_data(store, sid) == {"user": "ada"}
        assert server.start_calls == 0

    def test_exception_during_iteration_does_not_save(self) -> None:
        store = MemoryStore()
        sid, cookie = seed(store, user="ada")

        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [])

            def body() -> Iterator[bytes]:
                environ["wsgisession"]["user"] = "mallory"
                yield b"a"
                yield b"b"
                raise RuntimeError("half way")

            return body()

        server = FakeServer(make_middleware(app, store=store))
        with pytest.raises(RuntimeError, match="half way"):
            server.run(make_environ(cookie=cookie))
        assert stored_data(store, sid) == {"user": "ada"}


# Vary: Cookie.


def _vary_app(vary: list[str], view: Callable[[Session], Any] | None = None) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if view is not None:
            view(environ["wsgisession"])
        response = Response(b"page")
        for value in vary:
            response.headers.add("Vary", value)
        return response(environ, start_response)

    return app


def _vary_tokens(values: list[str]) -> list[str]:
    return [
        token.strip().lower() for value in values for token in value.split(",") if token.strip()
    ]


class TestVary:
    def test_added_when_the_session_is_read(self) -> None:
        app = _vary_app([], lambda session: session.get("user"))
        client = Client(make_middleware(app, save_uninitialized=False, resave=False))
        response = client.get("/")
        assert session_cookie(response) is None
        assert response.headers.getlist("Vary") == ["Cookie"]

    def test_added_when_a_cookie_is_set(self) -> None:
        client = Client(make_middleware(_vary_app([]), save_uninitialized=True))
        response = client.get("/")
        assert session_cookie(response) is not None
        assert response.headers.getlist("Vary") == ["Cookie"]

    def test_added_when_the_cookie_is_cleared(self) -> None:
        store = MemoryStore()
        _, cookie = seed(store, user="ada")
        app = _vary_app([], lambda session: session.destroy())
        server = FakeServer(make_middleware(app, store=store))
        server.run(make_environ(cookie=cookie))
        assert server.session_header() is not None
        assert server.header_values("Vary") == ["Cookie"]

    def test_added_for_a_loaded_session_that_is_read(self) -> None:
        store = MemoryStore()
        _, cookie = seed(store, user="ada")
        server = FakeServer(
            make_middleware(
                _vary_app([], lambda session: session["user"]), store=store, resave=False
            )
        )
        server.run(make_environ(cookie=cookie))
        assert server.session_header() is None
        assert server.header_values("Vary") == ["Cookie"]

    @pytest.mark.parametrize(
        ("app_vary", "expected"),
        [
            pytest.param(["Accept-Encoding"], ["Accept-Encoding, Cookie"], id="merged"),
            pytest.param(
                ["Accept-Language, Accept-Encoding"],
                ["Accept-Language, Accept-Encoding, Cookie"],
                id="merged-list",
            ),
            pytest.param(["Cookie"], ["Cookie"], id="already-there"),
            pytest.param(["cookie"], ["cookie"], id="already-there-lowercase"),
            pytest.param(
                ["Accept-Encoding, Cookie"], ["Accept-Encoding, Cookie"], id="already-in-list"
            ),
            pytest.param(["*"], ["*"], id="star"),
        ],
    )
    def test_merged_with_the_apps_vary(self, app_vary: list[str], expected: list[str]) -> None:
        app = _vary_app(app_vary, lambda session: session.get("user"))
        response = Client(make_middleware(app)).get("/")
        assert session_cookie(response) is not None
        assert response.headers.getlist("Vary") == expected

    @pytest.mark.parametrize(
        "app_vary",
        [
            pytest.param(["Accept-Encoding", "Cookie"], id="second-header"),
            pytest.param(["Accept-Encoding", "Accept-Language"], id="two-headers"),
        ],
    )
    def test_never_duplicated_across_several_vary_headers(self, app_vary: list[str]) -> None:
        app = _vary_app(app_vary, lambda session: session.get("user"))
        response = Client(make_middleware(app)).get("/")
        tokens = _vary_tokens(response.headers.getlist("Vary"))
        assert tokens.count("cookie") == 1

    def test_star_in_a_second_header_is_left_alone(self) -> None:
        app = _vary_app(["Accept-Encoding", "*"], lambda session: session.get("user"))
        response = Client(make_middleware(app)).get("/")
        tokens = _vary_tokens(response.headers.getlist("Vary"))
        assert "cookie" not in tokens
        assert "*" in tokens

    def test_absent_when_the_session_is_untouched_and_no_cookie_is_sent(self) -> None:
        client = Client(make_middleware(_vary_app([]), save_uninitialized=False, resave=False))
        response = client.get("/")
        assert session_cookie(response) is None
        assert "Vary" not in response.headers

    def test_apps_own_vary_is_untouched_when_no_session_is_used(self) -> None:
        app = _vary_app(["Accept-Encoding"])
        client = Client(make_middleware(app, save_uninitialized=False, resave=False))
        response = client.get("/")
        assert response.headers.getlist("Vary") == ["Accept-Encoding"]


# Cookies the application sets.


class TestAppCookies:
    def test_kept_and_before_the_session_cookie(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            environ["wsgisession"]["user"] = "ada"
            response = Response(b"ok")
            response.set_cookie("theme", "dark")
            response.set_cookie("lang", "en")
            return response(environ, start_response)

        response = Client(make_middleware(app)).get("/")
        cookies = response.headers.getlist("Set-Cookie")
        assert len(cookies) == 3
        assert cookies[0].startswith("theme=dark")
        assert cookies[1].startswith("lang=en")
        assert cookies[2].startswith(COOKIE + "=")

    def test_kept_when_no_session_cookie_is_sent(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            response = Response(b"ok")
            response.set_cookie("theme", "dark")
            return response(environ, start_response)

        response = Client(make_middleware(app, save_uninitialized=False)).get("/")
        assert response.headers.getlist("Set-Cookie") == [
            "theme=dark; Path=/",
        ]

    def test_app_cookie_with_the_session_name_is_not_dropped(self) -> None:
        def app(environ: dict[str, Any], start_response: Any) -> Any:
            start_response("200 OK", [("Set-Cookie", "other=1; Path=/")])
            return [b"ok"]

        server = FakeServer(make_middleware(app))
        server.run(make_environ())
        cookies = server.header_values("Set-Cookie")
        assert cookies[0] == "other=1; Path=/"
        assert cookies[-1].startswith(COOKIE + "=")


# Store failures and values that cannot be stored.


def _seeded_failing_client(failing: str, action: Callable[[Session], Any], **options: Any) -> Any:
    """A client holding a stored session (``user="ada"``), whose store then
    starts failing ``failing``; requests to ``/`` run ``action``."""
    store = FailingStore()

    def view(session: Session, environ: dict[str, Any]) -> None:
        if environ["PATH_INFO"] == "/seed":
            session["user"] = "ada"
        else:
            action(session)

    client = make_client(view, store=store, **options)
    client.get("/seed")
    assert store.length() == 1
    store.failing.add(failing)
    return client, store


@pytest.mark.parametrize(
    ("operation", "action", "options"),
    [
        pytest.param("get", lambda session: None, {}, id="get"),
        pytest.param("set", lambda session: session.update(user="bob"), {}, id="set"),
        pytest.param("set", lambda session: session.save(), {}, id="set-explicit-save"),
        pytest.param("touch", lambda session: session.get("user"), {"resave": False}, id="touch"),
        pytest.param("refresh", lambda session: None, {"resave": False}, id="refresh"),
        pytest.param("destroy", lambda session: session.destroy(), {}, id="destroy"),
        pytest.param("destroy", lambda session: session.regenerate(), {}, id="destroy-regenerate"),
    ],
)
def test_store_failure_raises_store_error(
    operation: str, action: Callable[[Session], Any], options: dict[str, Any]
) -> None:
    client, _ = _seeded_failing_client(operation, action, **options)
    with pytest.raises(StoreError) as info:
        client.get("/").get_data()
    error = info.value
    assert isinstance(error, SessionError)
    assert error.store == "FailingStore"
    assert error.operation == operation
    assert isinstance(error.__cause__, ConnectionError)
    assert "FailingStore" in str(error)
    assert operation in str(error)


def test_store_failure_on_unset_destroy() -> None:
    store = FailingStore()
    _, cookie = seed(store, user="ada")
    store.failing.add("destroy")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgisession"] = None
        start_response("200 OK", [])
        return [b"bye"]

    server = FakeServer(make_middleware(app, store=store, unset="destroy"))
    with pytest.raises(StoreError) as info:
        server.run(make_environ(cookie=cookie))
    assert info.value.operation == "destroy"
    assert server.start_calls == 0


def test_store_failure_on_a_new_session_save() -> None:
    client = make_client(
        lambda session, environ: session.update(user="ada"), store=FailingStore("set")
    )
    with pytest.raises(StoreError) as info:
        client.get("/")
    assert info.value.operation == "set"
    assert isinstance(info.value.__cause__, ConnectionError)


def test_failed_one_chunk_save_sends_nothing() -> None:
    server = FakeServer(
        make_middleware(modifying_app([b"logged in"], user="ada"), store=FailingStore("set"))
    )
    with pytest.raises(StoreError):
        server.run(make_environ())
    assert server.start_calls == 0
    assert server.body == []


def test_failed_multi_chunk_save_withholds_the_last_chunk() -> None:
    server = FakeServer(
        make_middleware(modifying_app([b"a", b"b", b"c"], user="ada"), store=FailingStore("set"))
    )
    with pytest.raises(StoreError):
        server.run(make_environ())
    assert b"c" not in server.body


def test_failed_save_leaves_the_stored_session_unchanged() -> None:
    client, store = _seeded_failing_client("set", lambda session: session.update(user="bob"))
    sid = next(iter(store.all()))
    with pytest.raises(StoreError):
        client.get("/")
    assert stored_data(store, sid) == {"user": "ada"}


def test_failed_load_does_not_give_a_new_session() -> None:
    client, store = _seeded_failing_client("get", lambda session: None)
    with pytest.raises(StoreError):
        client.get("/")
    assert store.length() == 1


class _Opaque:
    pass


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({1, 2}, id="set"),
        pytest.param(_Opaque(), id="object"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(b"bytes", id="bytes"),
        pytest.param([1, {2}], id="nested-set"),
        pytest.param({"when": object()}, id="nested-object"),
    ],
)
def test_value_that_is_not_json_raises_type_error_naming_the_key(value: Any) -> None:
    store = MemoryStore()
    client = make_client(lambda session, environ: session.update(basket=value), store=store)
    with pytest.raises(TypeError, match="basket"):
        client.get("/")
    assert store.length() == 0


def test_value_that_is_not_json_leaves_the_stored_session_unchanged() -> None:
    store = MemoryStore()
    sid, cookie = seed(store, user="ada")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        session = environ["wsgisession"]
        session["user"] = "bob"
        session["basket"] = {"apple"}
        start_response("200 OK", [])
        return [b"ok"]

    server = FakeServer(make_middleware(app, store=store))
    with pytest.raises(TypeError, match="basket"):
        server.run(make_environ(cookie=cookie))
    assert stored_data(store, sid) == {"user": "ada"}
    assert server.start_calls == 0


def test_value_that_is_not_json_on_explicit_save() -> None:
    store = MemoryStore()
    sid, cookie = seed(store, user="ada")
    errors: list[BaseException] = []

    def view(session: Session, environ: dict[str, Any]) -> None:
        session["user"] = "bob"
        session["when"] = object()
        with pytest.raises(TypeError, match="when") as info:
            session.save()
        errors.append(info.value)
        del session["when"]

    server = FakeServer(make_middleware(session_app(view), store=store))
    server.run(make_environ(cookie=cookie))
    assert len(errors) == 1
    assert stored_data(store, sid) == {"user": "bob"}


# Paths outside the cookie path.


@pytest.mark.parametrize(
    ("cookie_path", "script_name", "path_info", "has_session"),
    [
        pytest.param("/app", "", "/other", False, id="other"),
        pytest.param("/app", "", "/application", False, id="prefix-not-segment"),
        pytest.param("/app/", "", "/app", False, id="slash-path-parent"),
        pytest.param("/app", "/other", "/app", False, id="script-name-outside"),
        pytest.param("/app", "", "/app", True, id="equal"),
        pytest.param("/app", "", "/app/page", True, id="below"),
        pytest.param("/app/", "", "/app/page", True, id="slash-path-below"),
        pytest.param("/app", "/app", "/page", True, id="script-name-inside"),
        pytest.param("/app", "/app", "", True, id="script-name-equal"),
        pytest.param("/", "", "/anything", True, id="root"),
    ],
)
def test_session_only_inside_the_cookie_path(
    cookie_path: str, script_name: str, path_info: str, has_session: bool
) -> None:
    seen: list[Any] = []
    store = RecordingStore()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append((environ.get("wsgisession"), get_session(environ)))
        start_response("200 OK", [])
        return [b"ok"]

    server = FakeServer(make_middleware(app, store=store, cookie={"path": cookie_path}))
    server.run(make_environ(SCRIPT_NAME=script_name, PATH_INFO=path_info))
    [(raw, via_helper)] = seen
    if has_session:
        assert isinstance(raw, Session)
        assert via_helper is raw
        assert server.session_header() is not None
    else:
        assert raw is None
        assert via_helper is None
        assert server.header_values("Set-Cookie") == []
        assert server.header_values("Vary") == []
        assert store.operations() == []


def test_outside_the_path_a_valid_cookie_is_not_loaded() -> None:
    store = RecordingStore()
    _, cookie = seed(store, user="ada")
    store.operations()
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ.get("wsgisession"))
        start_response("200 OK", [])
        return [b"ok"]

    server = FakeServer(make_middleware(app, store=store, cookie={"path": "/app"}))
    server.run(make_environ("/elsewhere", cookie=cookie))
    assert seen == [None]
    assert store.operations() == []


# Nested middleware.


class TestNested:
    def _stack(self) -> tuple[Any, RecordingStore, RecordingStore, list[Any]]:
        seen: list[Any] = []
        inner_store, outer_store = RecordingStore(), RecordingStore()

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append(session)
            session["user"] = "ada"

        inner = make_middleware(session_app(view), store=inner_store, name="inner.sid")
        outer = make_middleware(inner, store=outer_store, name="outer.sid")
        return outer, inner_store, outer_store, seen

    def test_outer_one_wins(self) -> None:
        outer, _, outer_store, seen = self._stack()
        response = Client(outer).get("/")
        names = [value.split("=", 1)[0] for value in response.headers.getlist("Set-Cookie")]
        assert names == ["outer.sid"]
        sid = sid_from(response, "outer.sid")
        assert sid is not None
        assert seen[0].id == sid
        assert stored_data(outer_store, sid) == {"user": "ada"}

    def test_inner_one_passes_through(self) -> None:
        outer, inner_store, _, _ = self._stack()
        response = Client(outer).get("/")
        assert inner_store.length() == 0
        assert inner_store.operations() == []
        assert response.headers.getlist("Vary") == ["Cookie"]

    def test_inner_cookie_is_ignored(self) -> None:
        outer, inner_store, outer_store, _ = self._stack()
        client = Client(outer)
        client.set_cookie("inner.sid", "s%3Aforged.sig")
        client.get("/")
        assert inner_store.operations() == []
        assert outer_store.length() == 1

    def test_outer_session_is_loaded_on_the_next_request(self) -> None:
        outer, _, outer_store, seen = self._stack()
        client = Client(outer)
        client.get("/")
        client.get("/")
        assert seen[0].id == seen[1].id
        assert outer_store.length() == 1


# get_session.


class TestGetSession:
    def test_returns_the_requests_session(self) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            seen.append(wsgisession.get_session(environ) is session)

        make_client(view).get("/")
        assert seen == [True]

    def test_none_without_the_middleware(self) -> None:
        assert get_session({}) is None
        assert get_session(make_environ()) is None

    def test_none_after_destroy(self) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            session.destroy()
            seen.append(get_session(environ))

        make_client(view).get("/")
        assert seen == [None]

    def test_none_after_unset(self) -> None:
        seen: list[Any] = []

        def view(session: Session, environ: dict[str, Any]) -> None:
            environ["wsgisession"] = None
            seen.append(get_session(environ))

        make_client(view).get("/")
        assert seen == [None]


class TestStoreWithoutTouch:
    """A store that does not implement touch costs one read per unchanged
    request with resave=False, as in express-session: no read-modify-write."""

    class GetSetDestroyStore(wsgisession.Store):
        def __init__(self) -> None:
            self.records: dict[str, Any] = {}
            self.calls: list[str] = []

        def get(self, sid: str) -> Any:
            self.calls.append("get")
            return self.records.get(sid)

        def set(self, sid: str, record: Any) -> None:
            self.calls.append("set")
            self.records[sid] = record

        def destroy(self, sid: str) -> None:
            self.calls.append("destroy")
            self.records.pop(sid, None)

    def test_unchanged_request_only_reads(self) -> None:
        store = self.GetSetDestroyStore()
        client = make_client(
            lambda session, environ: session.setdefault("n", 1),
            store=store,
            resave=False,
            save_uninitialized=False,
        )
        client.get("/")
        assert store.calls == ["set"]
        store.calls.clear()
        client.get("/")
        assert store.calls == ["get"]
