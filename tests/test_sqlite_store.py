"""SQLiteStore beyond the store contract (issue 3, SPEC §7): the file's layout
and pragmas, real processes sharing one file, fork safety, a connection per
thread, pruning in bounded batches, errors and option validation.

The basic operations, expiry, bulk operations and threads are covered for
every store by tests/test_store_contract.py. Cross-process tests use real
processes (multiprocessing with 'spawn' and 'fork', ``os.fork()`` and
``python -c`` subprocesses), never a mock of SQLite.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import queue
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from wsgisession import SQLiteStore, StoreError
from wsgisession.record import Record, record_expiry
from wsgisession.testing import make_record

from .conftest import expected_cookie_value, make_middleware, session_app, sid_from

ROOT = Path(__file__).resolve().parents[1]
# Generous bounds for waiting on other processes; nothing asserts a duration.
PROCESS_TIMEOUT = 60.0


def raw_connection(path: Path) -> sqlite3.Connection:
    """A connection of the test's own, not the store's, to look at the file."""
    return sqlite3.connect(path, timeout=10, isolation_level=None)


def insert_raw(
    path: Path, sid: str, record: Record, expire: float, table: str = "sessions"
) -> None:
    connection = raw_connection(path)
    try:
        connection.execute(
            f'INSERT INTO "{table}" (sid, sess, expire) VALUES (?, ?, ?)',
            (sid, json.dumps(record), expire),
        )
    finally:
        connection.close()


def raw_rows(path: Path, table: str = "sessions") -> dict[str, tuple[Record, float]]:
    connection = raw_connection(path)
    try:
        rows = connection.execute(f'SELECT sid, sess, expire FROM "{table}"').fetchall()
    finally:
        connection.close()
    return {sid: (json.loads(sess), expire) for sid, sess, expire in rows}


def counter_view(session: Any, environ: dict[str, Any]) -> str:
    session["views"] = session.get("views", 0) + 1
    return str(session["views"])


def counter_client(store: SQLiteStore) -> Client:
    return Client(
        make_middleware(session_app(counter_view), store=store, cookie={"max_age": 3600}),
        use_cookies=False,
    )


def count_request(client: Client, sid: str | None) -> tuple[str, str | None]:
    """One request of the counter app with ``sid``'s cookie (or none): the body
    and the session id of the cookie the response sets."""
    headers = {} if sid is None else {"Cookie": f"connect.sid={expected_cookie_value(sid)}"}
    response = client.get("/", headers=headers)
    return response.text, sid_from(response)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(path)
    yield store
    store.close()


# --- the file -------------------------------------------------------------------


class TestFile:
    def test_wal_mode(self, store: SQLiteStore, path: Path) -> None:
        # WAL is a property of the file: another connection sees it too.
        connection = raw_connection(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            connection.close()
        assert store._connection().execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    @pytest.mark.parametrize(("timeout", "milliseconds"), [(5.0, 5000), (0.25, 250), (12, 12000)])
    def test_busy_timeout(self, path: Path, timeout: float, milliseconds: int) -> None:
        store = SQLiteStore(path, timeout=timeout)
        try:
            connection = store._connection()
            assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == milliseconds
        finally:
            store.close()

    def test_a_write_waits_for_a_lock_held_briefly(self, store: SQLiteStore, path: Path) -> None:
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
        release.start()
        try:
            store.set("waited", make_record(who="waited"))
        finally:
            release.join()
            holder.close()
        assert store.get("waited") is not None

    def test_a_lock_held_past_the_timeout_is_a_store_error(self, path: Path) -> None:
        store = SQLiteStore(path, timeout=0.2)
        holder = raw_connection(path)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError) as caught:
                store.set("blocked", make_record())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            store.close()
        assert (caught.value.store, caught.value.operation) == ("SQLiteStore", "set")
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        assert "locked" in str(caught.value)

    def test_table_layout(self, store: SQLiteStore, path: Path) -> None:
        connection = raw_connection(path)
        try:
            columns = [
                (name, kind, notnull, pk)
                for _, name, kind, notnull, _, pk in connection.execute(
                    'PRAGMA table_info("sessions")'
                )
            ]
        finally:
            connection.close()
        assert columns == [
            ("sid", "TEXT", 1, 1),
            ("sess", "TEXT", 1, 0),
            ("expire", "REAL", 1, 0),
        ]

    @pytest.mark.parametrize("table", ["sessions", "my_app_sessions2"])
    def test_expire_index(self, path: Path, table: str) -> None:
        SQLiteStore(path, table=table).close()
        connection = raw_connection(path)
        try:
            indexes = [row[1] for row in connection.execute(f'PRAGMA index_list("{table}")')]
            indexed = {
                index: [row[2] for row in connection.execute(f'PRAGMA index_info("{index}")')]
                for index in indexes
            }
            plan = " ".join(
                row[-1]
                for row in connection.execute(
                    f'EXPLAIN QUERY PLAN SELECT rowid FROM "{table}" WHERE expire <= 1'
                )
            )
        finally:
            connection.close()
        assert ["expire"] in indexed.values()
        expire_index = next(name for name, cols in indexed.items() if cols == ["expire"])
        # Pruning's lookup of expired rows uses it rather than scanning the table.
        assert expire_index in plan

    def test_row_holds_the_json_record_and_its_expiry(self, store: SQLiteStore, path: Path) -> None:
        record = make_record(600, user="Zoë", cart=[1, 2])
        store.set("sid-1", record)
        stored, expire = raw_rows(path)["sid-1"]
        assert stored == record
        assert list(stored) == ["cookie", "user", "cart"]
        expiry = record_expiry(record)
        assert expiry is not None
        assert expire == pytest.approx(expiry, abs=0.001)

    def test_row_without_cookie_expiry_expires_after_the_ttl(self, path: Path) -> None:
        store = SQLiteStore(path, ttl=1234)
        try:
            before = time.time()
            store.set("sid-1", make_record(None, views=1))
            after = time.time()
        finally:
            store.close()
        _, expire = raw_rows(path)["sid-1"]
        assert before + 1234 <= expire <= after + 1234

    def test_refresh_moves_the_expire_column_and_leaves_the_record(
        self, store: SQLiteStore, path: Path
    ) -> None:
        record = make_record(60, user="Zoë")
        record["cookie"]["originalMaxAge"] = 7_200_500
        store.set("sid-1", record)
        before = time.time()
        assert store.refresh("sid-1") is True
        after = time.time()
        stored, expire = raw_rows(path)["sid-1"]
        assert before + 7200.5 - 0.001 <= expire <= after + 7200.5 + 0.001
        # As connect-pg-simple's touch: the expire column moves, the JSON stays.
        assert stored == record

    def test_get_and_refresh_returns_the_record_as_stored(
        self, store: SQLiteStore, path: Path
    ) -> None:
        record = make_record(60, user="Zoë")
        record["cookie"]["originalMaxAge"] = 7_200_000
        store.set("sid-1", record)
        assert store.get_and_refresh("sid-1") == record
        stored, expire = raw_rows(path)["sid-1"]
        assert stored == record
        assert expire == pytest.approx(time.time() + 7200, abs=5)
        assert store.get_and_refresh("missing") is None

    def test_get_and_refresh_without_returning_reads_then_touches(
        self, store: SQLiteStore, path: Path
    ) -> None:
        # What an SQLite older than 3.35 (no RETURNING) gets.
        store._sql_get_and_refresh = None
        record = make_record(60, user="ada")
        record["cookie"]["originalMaxAge"] = 7_200_000
        store.set("sid-1", record)
        loaded = store.get_and_refresh("sid-1")
        assert loaded is not None
        assert loaded["user"] == "ada"
        _, expire = raw_rows(path)["sid-1"]
        assert expire == pytest.approx(time.time() + 7200, abs=5)
        assert store.get_and_refresh("missing") is None

    def test_refresh_of_a_browser_session_row_leaves_the_json_as_it_is(self, path: Path) -> None:
        store = SQLiteStore(path, ttl=1234)
        try:
            store.set("sid-1", make_record(None, views=1))
            before_json = raw_rows(path)["sid-1"][0]
            before = time.time()
            assert store.refresh("sid-1") is True
            after = time.time()
        finally:
            store.close()
        stored, expire = raw_rows(path)["sid-1"]
        assert stored == before_json
        assert before + 1234 <= expire <= after + 1234

    def test_refresh_of_a_corrupt_row_is_a_store_error(
        self, store: SQLiteStore, path: Path
    ) -> None:
        connection = raw_connection(path)
        try:
            connection.execute(
                "INSERT INTO sessions (sid, sess, expire) VALUES ('sid-1', 'not json', ?)",
                (time.time() + 60,),
            )
        finally:
            connection.close()
        with pytest.raises(StoreError) as caught:
            store.refresh("sid-1")
        assert caught.value.operation == "refresh"

    def test_path_may_be_a_pathlike(self, path: Path) -> None:
        store = SQLiteStore(path)
        try:
            store.set("sid-1", make_record(n=1))
        finally:
            store.close()
        assert store.path == str(path)
        assert set(raw_rows(path)) == {"sid-1"}


# --- real processes sharing one file ----------------------------------------------


def _spawned_peer(path: str, pipe: Connection) -> None:
    """A process of its own serving ("get" | "set" | "request", ...) commands
    against the store file, one reply per command, until "stop"."""
    store = SQLiteStore(path)
    client = counter_client(store)
    while True:
        command, *args = pipe.recv()
        if command == "stop":
            break
        try:
            if command == "get":
                result: Any = store.get(args[0])
            elif command == "set":
                store.set(args[0], args[1])
                result = True
            else:
                result = count_request(client, args[0])
            pipe.send(("ok", result))
        except BaseException as error:
            pipe.send(("error", repr(error)))
    store.close()
    pipe.close()


class SpawnedPeer:
    """The parent's handle on a ``_spawned_peer`` process."""

    def __init__(self, path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(target=_spawned_peer, args=(str(path), child_end))
        self.process.start()
        child_end.close()

    def __call__(self, *command: Any) -> Any:
        self.pipe.send(command)
        if not self.pipe.poll(PROCESS_TIMEOUT):
            raise AssertionError(f"the peer process did not answer {command!r}")
        status, result = self.pipe.recv()
        assert status == "ok", result
        return result

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send(("stop",))
        self.process.join(PROCESS_TIMEOUT)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.pipe.close()
        self.process.close()


@pytest.fixture
def spawned_peer(path: Path) -> Iterator[SpawnedPeer]:
    peer = SpawnedPeer(path)
    yield peer
    peer.stop()


_LINE_PEER = """
import json, sys
from wsgisession import SQLiteStore
store = SQLiteStore(sys.argv[1])
for line in sys.stdin:
    op, sid, record = json.loads(line)
    if op == "get":
        result = store.get(sid)
    else:
        store.set(sid, record)
        result = True
    print(json.dumps(result), flush=True)
store.close()
"""


class LinePeer:
    """A ``python -c`` process answering one JSON line per JSON line."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LINE_PEER, str(path)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)  # the process ended

    def __call__(self, op: str, sid: str, record: Record | None = None) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps([op, sid, record]) + "\n")
        self.process.stdin.flush()
        try:
            line = self.lines.get(timeout=PROCESS_TIMEOUT)
        except queue.Empty:
            line = None
        if line is None:
            self.process.kill()
            raise AssertionError(f"the python -c peer did not answer: {self.stop()}")
        return json.loads(line)

    def stop(self) -> str:
        """Close its input, which ends the process; return its standard error."""
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.close()
        try:
            self.process.wait(PROCESS_TIMEOUT)
        finally:
            self.process.kill()
            self.reader.join(PROCESS_TIMEOUT)
            stderr = self.process.stderr.read()
            self.process.stderr.close()
            assert self.process.stdout is not None
            self.process.stdout.close()
        return stderr


def _concurrent_writer(path: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    errors: list[str] = []
    try:
        store = SQLiteStore(path, prune_every=7, prune_batch=5)
        barrier.wait(PROCESS_TIMEOUT)
        for n in range(count):
            try:
                store.set(f"w{worker}-{n}", make_record(3600, worker=worker, n=n))
                store.set("shared", make_record(3600, worker=worker, n=n))
                if n % 10 == 0:
                    # An expired write is a delete.
                    store.set(f"gone-{worker}-{n}", make_record(-5))
                loaded = store.get(f"w{worker}-{n}")
                if loaded is None or loaded["n"] != n:
                    errors.append(f"w{worker}-{n} read back as {loaded!r}")
            except Exception as error:
                errors.append(f"{error!r} from {error.__cause__!r}")
        store.close()
    except Exception as error:
        errors.append(repr(error))
    results.put((worker, errors))


@pytest.mark.slow
class TestProcesses:
    def test_spawned_process_sees_writes_through_the_middleware_at_once(
        self, store: SQLiteStore, spawned_peer: SpawnedPeer
    ) -> None:
        client = counter_client(store)
        body, sid = count_request(client, None)
        assert body == "1"
        assert sid is not None
        # The other process continues the session the parent started ...
        assert spawned_peer("request", sid) == ("2", sid)
        # ... and the parent sees what the other process wrote.
        assert count_request(client, sid) == ("3", sid)
        assert spawned_peer("request", sid) == ("4", sid)
        loaded = store.get(sid)
        assert loaded is not None
        assert loaded["views"] == 4

    def test_spawned_process_sees_store_writes_at_once(
        self, store: SQLiteStore, spawned_peer: SpawnedPeer
    ) -> None:
        for n in range(5):
            store.set(f"parent-{n}", make_record(who="parent", n=n))
            loaded = spawned_peer("get", f"parent-{n}")
            assert loaded is not None
            assert (loaded["who"], loaded["n"]) == ("parent", n)
            assert spawned_peer("set", f"child-{n}", make_record(who="child", n=n)) is True
            mine = store.get(f"child-{n}")
            assert mine is not None
            assert (mine["who"], mine["n"]) == ("child", n)
        store.destroy("child-0")
        assert spawned_peer("get", "child-0") is None

    def test_python_c_process_sees_writes_at_once(self, store: SQLiteStore, path: Path) -> None:
        peer = LinePeer(path)
        try:
            for n in range(5):
                record = make_record(who="parent", n=n)
                store.set(f"parent-{n}", record)
                assert peer("get", f"parent-{n}") == record
                theirs = make_record(who="python -c", n=n)
                assert peer("set", f"child-{n}", theirs) is True
                assert store.get(f"child-{n}") == theirs
            store.set("parent-0", make_record(who="parent again"))
            loaded = peer("get", "parent-0")
            assert loaded["who"] == "parent again"
            assert peer("get", "never-written") is None
        finally:
            assert peer.stop() == ""

    def test_concurrent_writers_lose_nothing(self, store: SQLiteStore, path: Path) -> None:
        workers, count = 4, 120
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(workers)
        results = context.Queue()
        processes = [
            context.Process(
                target=_concurrent_writer, args=(str(path), worker, count, barrier, results)
            )
            for worker in range(workers)
        ]
        for process in processes:
            process.start()
        try:
            reports = dict(results.get(timeout=PROCESS_TIMEOUT) for _ in processes)
        finally:
            for process in processes:
                process.join(PROCESS_TIMEOUT)
                if process.is_alive():
                    process.kill()
                    process.join()
        assert [process.exitcode for process in processes] == [0] * workers
        assert reports == {worker: [] for worker in range(workers)}
        everything = store.all()
        expected = {f"w{w}-{n}" for w in range(workers) for n in range(count)} | {"shared"}
        assert set(everything) == expected
        assert store.length() == workers * count + 1
        for worker in range(workers):
            assert everything[f"w{worker}-{count - 1}"]["n"] == count - 1
        results.close()
        results.join_thread()


# --- fork -----------------------------------------------------------------------


def _fork_start(
    child: Callable[[], dict[str, Any]], go: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Run ``child`` in an ``os.fork()`` child, once the pipe ``go`` (read
    end, write end) is closed by the parent, when given. Return the pid and
    the read end of the pipe that brings back the JSON ``child`` returns."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; this one
        # forks on purpose, as gunicorn does.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        status = 0
        try:
            os.close(read_end)
            if go is not None:
                os.close(go[1])
                select.select([go[0]], [], [], PROCESS_TIMEOUT)
            try:
                result = child()
            except BaseException as error:
                result = {"error": repr(error), "cause": repr(error.__cause__)}
                status = 1
            with os.fdopen(write_end, "w") as out:
                json.dump(result, out)
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _fork_finish(pid: int, read_end: int) -> dict[str, Any]:
    """Wait (a bounded time) for a child of ``_fork_start``; return its JSON."""
    with os.fdopen(read_end) as reader:
        ready, _, _ = select.select([reader], [], [], PROCESS_TIMEOUT)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child did not finish")
        output = reader.read()
    _, status = os.waitpid(pid, 0)
    result: dict[str, Any] = json.loads(output)
    assert os.waitstatus_to_exitcode(status) == 0, result
    return result


def _fork(child: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``child`` in an ``os.fork()`` child; return the JSON it returned."""
    return _fork_finish(*_fork_start(child))


def _child_through_inherited_store(store: SQLiteStore, inherited: sqlite3.Connection) -> Any:
    parent = store.get("parent")
    store.set("child", make_record(who="child", pid=os.getpid()))
    connection = store._connection()
    return {
        "parent": parent,
        "own_connection": connection is not inherited,
        "same_again": store._connection() is connection,
        "child": store.get("child"),
        "length": store.length(),
    }


def _forked_by_multiprocessing(
    store: SQLiteStore, inherited: sqlite3.Connection, results: Any
) -> None:
    results.put(_child_through_inherited_store(store, inherited))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
class TestFork:
    def test_os_fork_child_uses_the_same_store_object(self, store: SQLiteStore) -> None:
        store.set("parent", make_record(who="parent"))
        inherited = store._connection()
        result = _fork(lambda: _child_through_inherited_store(store, inherited))
        assert result["parent"]["who"] == "parent"
        assert result["own_connection"] is True
        assert result["same_again"] is True
        assert result["child"]["who"] == "child"
        assert result["length"] == 2
        self._parent_keeps_working(store, inherited)

    def test_multiprocessing_fork_child_uses_the_same_store_object(
        self, store: SQLiteStore
    ) -> None:
        store.set("parent", make_record(who="parent"))
        inherited = store._connection()
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        process = context.Process(
            target=_forked_by_multiprocessing, args=(store, inherited, results)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            process.start()
        try:
            result = results.get(timeout=PROCESS_TIMEOUT)
        finally:
            process.join(PROCESS_TIMEOUT)
        assert process.exitcode == 0
        assert result["parent"]["who"] == "parent"
        assert result["own_connection"] is True
        assert result["child"]["who"] == "child"
        self._parent_keeps_working(store, inherited)
        results.close()
        results.join_thread()
        process.close()

    def test_several_forked_children_write_at_once(self, store: SQLiteStore) -> None:
        store.set("parent", make_record(who="parent"))

        def child() -> dict[str, Any]:
            for n in range(30):
                store.set(f"{os.getpid()}-{n}", make_record(n=n))
            return {"pid": os.getpid(), "length": store.length()}

        go = os.pipe()
        children = [_fork_start(child, go) for _ in range(3)]
        os.close(go[0])
        os.close(go[1])  # every child starts writing now
        results = [_fork_finish(*started) for started in children]
        pids = {result["pid"] for result in results}
        assert pids == {pid for pid, _ in children}
        assert store.length() == 1 + 3 * 30
        assert all(store.get(f"{pid}-{n}") is not None for pid in pids for n in range(30))
        assert store.get("parent") is not None

    @staticmethod
    def _parent_keeps_working(store: SQLiteStore, inherited: sqlite3.Connection) -> None:
        # The parent still uses its own connection, which the child left alone.
        assert store._connection() is inherited
        child = store.get("child")
        assert child is not None
        assert child["who"] == "child"
        assert child["pid"] != os.getpid()
        store.set("parent-after", make_record(who="parent"))
        assert store.get("parent-after") is not None
        assert inherited.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- threads --------------------------------------------------------------------


class TestThreads:
    def test_a_connection_per_thread(self, store: SQLiteStore) -> None:
        seen: dict[str, tuple[sqlite3.Connection, sqlite3.Connection]] = {}

        def grab(name: str) -> None:
            first = store._connection()
            store.set(name, make_record(thread=name))
            seen[name] = (first, store._connection())

        threads = [threading.Thread(target=grab, args=(f"t{n}",)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        grab("main")
        connections = [first for first, _ in seen.values()]
        # Each thread keeps its own connection, and the threads' differ.
        assert all(first is again for first, again in seen.values())
        assert len({id(connection) for connection in connections}) == 3
        assert {sid for sid in store.all()} == {"t0", "t1", "main"}

    def test_memory_database_is_shared_by_threads(self) -> None:
        store = SQLiteStore(":memory:")
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def work(worker: int) -> None:
            try:
                barrier.wait(10)
                for n in range(50):
                    sid = f"w{worker}-{n}"
                    store.set(sid, make_record(worker=worker, n=n))
                    loaded = store.get(sid)
                    assert loaded is not None
                    assert loaded["n"] == n
                    store.touch(sid, make_record(7200, worker=worker, n=n))
                    if n % 10 == 0:
                        store.destroy(sid)
                    store.length()
                    store.all()
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            assert errors == []
            # One database: what each thread wrote, every other thread sees.
            assert store.length() == 6 * 45
            assert store.get("w3-49") is not None
            seen: list[Record | None] = []
            reader = threading.Thread(target=lambda: seen.append(store.get("w0-1")))
            reader.start()
            reader.join()
            assert seen[0] is not None
            assert seen[0]["worker"] == 0
        finally:
            store.close()


# --- pruning and expiry ------------------------------------------------------------


def _insert_expired(path: Path, count: int, table: str = "sessions") -> None:
    past = time.time() - 60
    record = make_record(-60, stale=True)
    connection = raw_connection(path)
    try:
        connection.executemany(
            f'INSERT INTO "{table}" (sid, sess, expire) VALUES (?, ?, ?)',
            [(f"expired-{n}", json.dumps(record), past - n) for n in range(count)],
        )
    finally:
        connection.close()


def _count(path: Path, where: str = "1", table: str = "sessions") -> int:
    connection = raw_connection(path)
    try:
        return int(
            connection.execute(f'SELECT COUNT(*) FROM "{table}" WHERE {where}', ()).fetchone()[0]
        )
    finally:
        connection.close()


class TestPruning:
    def test_prune_deletes_expired_rows_in_batches(self, path: Path) -> None:
        store = SQLiteStore(path, prune_batch=10)
        try:
            store.set("live", make_record(3600))
            _insert_expired(path, 25)
            assert _count(path) == 26
            assert [store.prune() for _ in range(4)] == [10, 10, 5, 0]
            assert set(raw_rows(path)) == {"live"}
        finally:
            store.close()

    def test_prune_spares_rows_expiring_later(self, store: SQLiteStore, path: Path) -> None:
        _insert_expired(path, 3)
        store.set("soon", make_record(2))
        store.set("browser", make_record(None))
        assert store.prune() == 3
        assert set(raw_rows(path)) == {"soon", "browser"}

    def test_every_prune_every_writes_prune_one_batch(self, path: Path) -> None:
        store = SQLiteStore(path, prune_every=5, prune_batch=3)
        expired = "expire <= strftime('%s', 'now')"
        try:
            _insert_expired(path, 20)
            for n in range(4):
                store.set(f"s{n}", make_record())
            assert _count(path, expired) == 20
            store.set("s4", make_record())
            assert _count(path, expired) == 17
            for n in range(5, 10):
                store.set(f"s{n}", make_record())
            assert _count(path, expired) == 14
            # Deletes (expired writes) count as writes too.
            for n in range(5):
                store.set(f"gone{n}", make_record(-1))
            assert _count(path, expired) == 11
            assert _count(path, "sid LIKE 's%'") == 10
        finally:
            store.close()

    def test_the_table_stays_bounded_as_sessions_expire(self, path: Path) -> None:
        store = SQLiteStore(path, prune_every=10, prune_batch=10)
        largest = 0
        try:
            for n in range(300):
                store.set(f"s{n}", make_record(3600, n=n))
                # Time passes: the session just written has now expired.
                connection = raw_connection(path)
                connection.execute(
                    "UPDATE sessions SET expire = ? WHERE sid = ?", (time.time() - 1, f"s{n}")
                )
                connection.close()
                largest = max(largest, _count(path))
            assert store.length() == 0
        finally:
            store.close()
        # Without pruning the table would hold 300 rows.
        assert largest <= 20

    def test_get_never_returns_an_expired_row_not_yet_pruned(
        self, store: SQLiteStore, path: Path
    ) -> None:
        insert_raw(path, "stale", make_record(-1, views=9), time.time() - 1)
        assert store.get("stale") is None
        assert "stale" not in store.all()
        assert store.length() == 0
        store.touch("stale", make_record(3600, views=9))
        assert store.get("stale") is None
        # Still in the file: only prune() removes it.
        assert _count(path, "sid = 'stale'") == 1
        assert store.prune() == 1
        assert _count(path) == 0

    def test_a_row_expiring_while_stored_is_not_returned(
        self, store: SQLiteStore, path: Path
    ) -> None:
        store.set("short", make_record(0.3, views=1))
        assert store.get("short") is not None
        time.sleep(0.5)
        assert store.get("short") is None
        assert _count(path, "sid = 'short'") == 1


class TestTouch:
    def test_touch_updates_the_expire_column_and_the_cookie(
        self, store: SQLiteStore, path: Path
    ) -> None:
        store.set("sid-1", make_record(60, views=3, cart=["a"]))
        later = make_record(7200, views=999)
        later["cookie"]["sameSite"] = "lax"
        store.touch("sid-1", later)
        stored, expire = raw_rows(path)["sid-1"]
        expiry = record_expiry(later)
        assert expiry is not None
        assert expire == pytest.approx(expiry, abs=0.001)
        assert stored["cookie"] == later["cookie"]
        # The data is the stored session's, not what touch was given.
        assert (stored["views"], stored["cart"]) == (3, ["a"])
        assert list(stored) == ["cookie", "views", "cart"]
        assert store.get("sid-1") == stored

    def test_touch_without_cookie_expiry_uses_the_ttl(self, path: Path) -> None:
        store = SQLiteStore(path, ttl=500)
        try:
            store.set("sid-1", make_record(60, views=1))
            before = time.time()
            store.touch("sid-1", make_record(None, views=1))
            after = time.time()
        finally:
            store.close()
        stored, expire = raw_rows(path)["sid-1"]
        assert before + 500 <= expire <= after + 500
        assert stored["cookie"]["expires"] is None
        assert stored["cookie"]["originalMaxAge"] is None


# --- errors ---------------------------------------------------------------------


def _assert_store_error(error: StoreError, operation: str) -> None:
    assert error.store == "SQLiteStore"
    assert error.operation == operation
    assert f"SQLiteStore.{operation}()" in str(error)
    assert isinstance(error.__cause__, sqlite3.Error)


class TestErrors:
    def test_a_missing_directory_fails_at_construction(self, tmp_path: Path) -> None:
        with pytest.raises(StoreError) as caught:
            SQLiteStore(tmp_path / "no" / "such" / "dir" / "sessions.db")
        _assert_store_error(caught.value, "open")
        assert not (tmp_path / "no").exists()

    def test_a_read_only_file_fails_on_set(self) -> None:
        # A directory of its own that an unprivileged user may enter: root
        # ignores file modes, so as root the child drops to 'nobody'.
        directory = tempfile.mkdtemp(prefix="wsgisession-ro-")
        try:
            os.chmod(directory, 0o777)
            path = os.path.join(directory, "sessions.db")
            writer = SQLiteStore(path)
            writer.set("existing", make_record(views=1))
            writer.close()
            os.chmod(path, 0o444)

            def child() -> dict[str, Any]:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                outcome: dict[str, Any] = {}
                try:
                    store = SQLiteStore(path)
                except StoreError as error:
                    outcome["open"] = _describe(error)
                    return outcome
                outcome["get"] = store.get("existing")
                try:
                    store.set("new", make_record())
                except StoreError as error:
                    outcome["set"] = _describe(error)
                return outcome

            outcome = _fork(child)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        assert "open" not in outcome, outcome
        assert outcome["get"]["views"] == 1
        failure = outcome["set"]
        assert (failure["store"], failure["operation"]) == ("SQLiteStore", "set")
        assert failure["cause_is_sqlite_error"] is True
        assert failure["text"].startswith("SQLiteStore.set() failed")
        assert "readonly" in failure["text"]

    @pytest.mark.parametrize(
        ("operation", "call"),
        [
            ("set", lambda store: store.set("sid-1", make_record())),
            ("get", lambda store: store.get("sid-1")),
            ("destroy", lambda store: store.destroy("sid-1")),
            ("touch", lambda store: store.touch("sid-1", make_record())),
            ("all", lambda store: store.all()),
            ("length", lambda store: store.length()),
            ("clear", lambda store: store.clear()),
            ("prune", lambda store: store.prune()),
        ],
    )
    def test_a_table_dropped_behind_the_stores_back(
        self, store: SQLiteStore, path: Path, operation: str, call: Callable[[SQLiteStore], Any]
    ) -> None:
        store.set("sid-1", make_record())
        connection = raw_connection(path)
        connection.execute('DROP TABLE "sessions"')
        connection.close()
        with pytest.raises(StoreError) as caught:
            call(store)
        _assert_store_error(caught.value, operation)
        assert "no such table" in str(caught.value)

    def test_a_prune_failing_inside_a_write_names_prune(self, path: Path) -> None:
        store = SQLiteStore(path, prune_every=2)
        try:
            store.set("sid-1", make_record())
            # A trigger that refuses deletes makes the prune, not the write, fail.
            connection = raw_connection(path)
            connection.execute(
                "CREATE TRIGGER no_delete BEFORE DELETE ON sessions"
                " BEGIN SELECT RAISE(ABORT, 'deletes refused'); END"
            )
            connection.close()
            _insert_expired(path, 1)
            with pytest.raises(StoreError) as caught:
                store.set("sid-2", make_record())
        finally:
            store.close()
        _assert_store_error(caught.value, "prune")
        assert "deletes refused" in str(caught.value)

    def test_the_middleware_request_raises_the_store_error(
        self, store: SQLiteStore, path: Path
    ) -> None:
        client = counter_client(store)
        _, sid = count_request(client, None)
        assert sid is not None
        connection = raw_connection(path)
        connection.execute('DROP TABLE "sessions"')
        connection.close()
        with pytest.raises(StoreError) as caught:
            count_request(client, sid)
        _assert_store_error(caught.value, "get")


def _describe(error: StoreError) -> dict[str, Any]:
    return {
        "store": error.store,
        "operation": error.operation,
        "cause_is_sqlite_error": isinstance(error.__cause__, sqlite3.Error),
        "text": str(error),
    }


# --- options --------------------------------------------------------------------


class TestOptions:
    @pytest.mark.parametrize(
        "table",
        [
            "x; DROP TABLE sessions",
            'x"; DROP TABLE sessions; --',
            "x y",
            "1abc",
            "",
            "sess-ions",
            "ta\u0301ble",
            "sessions\n",
        ],
    )
    def test_table_must_be_an_identifier(self, path: Path, table: str) -> None:
        with pytest.raises(ValueError, match="'table'"):
            SQLiteStore(path, table=table)
        assert not path.exists()

    def test_table_must_be_a_str(self, path: Path) -> None:
        with pytest.raises((TypeError, ValueError), match="'table'"):
            SQLiteStore(path, table=123)  # type: ignore[arg-type]

    def test_an_injection_attempt_leaves_the_file_alone(self, path: Path) -> None:
        store = SQLiteStore(path)
        store.set("sid-1", make_record())
        with pytest.raises(ValueError, match="'table'"):
            SQLiteStore(path, table="x; DROP TABLE sessions")
        assert store.get("sid-1") is not None
        store.close()

    def test_a_custom_table_is_used(self, path: Path) -> None:
        store = SQLiteStore(path, table="app_sessions")
        try:
            store.set("sid-1", make_record(views=1))
        finally:
            store.close()
        assert set(raw_rows(path, table="app_sessions")) == {"sid-1"}

    @pytest.mark.parametrize("name", ["ttl", "timeout"])
    @pytest.mark.parametrize(
        ("value", "error"),
        [
            (0, ValueError),
            (-1, ValueError),
            (-0.5, ValueError),
            (float("nan"), ValueError),
            (float("inf"), ValueError),
            ("10", TypeError),
            (None, TypeError),
            (True, TypeError),
        ],
    )
    def test_seconds_options(
        self, path: Path, name: str, value: object, error: type[Exception]
    ) -> None:
        with pytest.raises(error, match=f"'{name}'"):
            SQLiteStore(path, **{name: value})  # type: ignore[arg-type]
        assert not path.exists()

    @pytest.mark.parametrize("name", ["ttl", "timeout"])
    @pytest.mark.parametrize("value", [0.5, 2, 86400.0])
    def test_seconds_options_accept_positive_numbers(
        self, path: Path, name: str, value: float
    ) -> None:
        store = SQLiteStore(path, **{name: value})  # type: ignore[arg-type]
        assert getattr(store, name) == value
        store.close()

    @pytest.mark.parametrize("name", ["prune_every", "prune_batch"])
    @pytest.mark.parametrize("value", [0, -1, 1.5, 10.0, "10", None, True])
    def test_count_options(self, path: Path, name: str, value: object) -> None:
        with pytest.raises((TypeError, ValueError), match=f"'{name}'"):
            SQLiteStore(path, **{name: value})  # type: ignore[arg-type]
        assert not path.exists()

    @pytest.mark.parametrize("name", ["prune_every", "prune_batch"])
    def test_count_options_accept_positive_ints(self, path: Path, name: str) -> None:
        store = SQLiteStore(path, **{name: 1})  # type: ignore[arg-type]
        assert getattr(store, name) == 1
        store.close()
