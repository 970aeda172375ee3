"""Real interoperability with Node: sessions written by express-session's
stores (connect-redis, connect-pg-simple) are read by wsgisession and the
reverse, cookie values match cookie-signature's, and an express-session
server and a wsgisession app share users' sessions.

The Node packages are pinned in tests/node/package.json (and its lock file)
and installed once per version of those files with ``npm install`` into
pytest's cache directory (``.pytest_cache/d/wsgisession-node/<key>/``). The
tests skip, saying why, when node or npm is missing or the install fails;
``WSGISESSION_REQUIRE_ALL=1`` turns those skips into failures.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs

import psycopg
import pytest
import redis
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from werkzeug.test import Client, TestResponse

from tests.conftest import (
    SECRET,
    make_middleware,
    session_app,
    session_cookie,
    sid_from,
    unique_name,
)
from wsgisession import MemoryStore, PostgresStore, RedisStore, Session, Store
from wsgisession.testing import make_record

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "node"
NAME = "connect.sid"
# A timeout for every single Node script.
SCRIPT_TIMEOUT = 60


# Node and the packages.


@dataclass
class Node:
    """Node.js with the packages of tests/node/package.json installed."""

    executable: str
    modules: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "NODE_PATH": str(self.modules)}

    def run(self, script: str, payload: Any) -> Any:
        """Run ``tests/node/<script>`` with ``payload`` as JSON on stdin and
        return the JSON it prints."""
        result = subprocess.run(
            [self.executable, str(NODE_DIR / script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            env=self.env,
            check=False,
        )
        assert result.returncode == 0, f"node {script} failed:\n{result.stderr}"
        return json.loads(result.stdout)

    def store(self, config: dict[str, Any], *ops: dict[str, Any]) -> list[Any]:
        """Run store operations (see tests/node/store.js) and return their results."""
        results: list[Any] = self.run("store.js", {"store": config, "ops": list(ops)})["results"]
        return results

    def cookies(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Cookie values and headers as express-session makes them (tests/node/cookie.js)."""
        results: list[dict[str, Any]] = self.run("cookie.js", {"name": NAME, "items": items})[
            "results"
        ]
        return results


def _node_version(executable: str) -> tuple[int, ...]:
    output = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    match = re.match(r"v(\d+)\.(\d+)", output.strip())
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Test runs in parallel must not install into one directory at once.
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def node(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Node:
    executable, npm = shutil.which("node"), shutil.which("npm")
    if executable is None or npm is None:
        pytest.skip(
            "the Node interoperability tests need Node.js 18.19+ and npm on PATH"
            " (Debian packages nodejs and npm)"
        )
    version = _node_version(executable)
    if version < (18, 19):
        pytest.skip(f"the Node interoperability tests need Node.js 18.19+, not {version}")
    manifests = [NODE_DIR / "package.json", NODE_DIR / "package-lock.json"]
    digest = hashlib.sha256()
    for manifest in manifests:
        digest.update(manifest.read_bytes())
    digest.update(repr(version).encode())
    key = digest.hexdigest()[:16]
    cache = getattr(request.config, "cache", None)
    base = (
        Path(cache.mkdir("wsgisession-node"))
        if cache is not None
        else tmp_path_factory.mktemp("node")
    )
    target = base / key
    marker = target / "node_modules" / ".wsgisession-installed"
    with _locked(base / f"{key}.lock"):
        if not marker.exists():
            target.mkdir(exist_ok=True)
            for manifest in manifests:
                shutil.copy(manifest, target / manifest.name)
            command = [npm, "install", "--no-audit", "--no-fund", "--no-update-notifier"]
            started = time.monotonic()
            try:
                result = subprocess.run(
                    command, cwd=target, capture_output=True, text=True, timeout=600, check=False
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm install in {target} did not finish in 600 s")
            if result.returncode != 0:
                pytest.skip(
                    f"npm install in {target} failed (exit {result.returncode}):\n"
                    + result.stderr[-2000:]
                )
            marker.write_text(f"installed in {time.monotonic() - started:.1f} s\n")
    return Node(executable, target / "node_modules")


# The servers, apart per test.


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = unique_name("wsgisession-test-node:") + ":"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=100))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def pg_con_object(postgres_dsn: str) -> dict[str, Any]:
    """The test server as node-postgres takes it (it reads no libpq strings)."""
    with psycopg.connect(postgres_dsn) as connection:
        info = connection.info
        con_object: dict[str, Any] = {
            "host": info.host,
            "port": info.port,
            "database": info.dbname,
            "user": info.user,
        }
    password = conninfo_to_dict(postgres_dsn).get("password")
    if password:
        con_object["password"] = password
    return con_object


@pytest.fixture
def pg_schemas(postgres_dsn: str) -> Iterator[Callable[[], str]]:
    """Make schemas of this test's own; they are dropped afterwards."""
    made: list[str] = []
    admin = psycopg.connect(postgres_dsn, autocommit=True)

    def make() -> str:
        name = unique_name("wsgisession_test_node_")
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        made.append(name)
        return name

    try:
        yield make
    finally:
        for name in made:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def stores() -> Iterator[list[Store]]:
    """Python stores to close after the test."""
    made: list[Store] = []
    yield made
    for store in made:
        close = getattr(store, "close", None)
        if callable(close):
            close()


# The WSGI side.


def show(session: Session, environ: dict[str, Any]) -> str:
    """The view of the WSGI app, doing what tests/node/server.js does."""
    path = environ["PATH_INFO"]
    if path == "/login":
        session["user"] = parse_qs(environ.get("QUERY_STRING", ""))["user"][0]
        session["views"] = session.get("views", 0) + 1
    elif path == "/bump":
        session["views"] = session.get("views", 0) + 1
    elif path == "/logout":
        session.destroy()
        return json.dumps({"id": None, "data": {}})
    return json.dumps({"id": session.id, "data": dict(session), "cookie": session.cookie.to_json()})


def wsgi_client(store: Store, **options: Any) -> Client:
    """express-session's recommended setup around ``show``; cookies are sent by hand."""
    options.setdefault("cookie", {"max_age": 600, "samesite": "lax"})
    middleware = make_middleware(
        session_app(show), store=store, resave=False, save_uninitialized=False, **options
    )
    return Client(middleware, use_cookies=False)


def wsgi_get(client: Client, path: str, cookie: str | None = None, **kwargs: Any) -> TestResponse:
    headers = {"Cookie": f"{NAME}={cookie}"} if cookie is not None else {}
    return client.get(path, headers=headers, **kwargs)


def answer_of(response: TestResponse) -> Any:
    """What ``show`` answered."""
    assert response.status_code == 200, response.text
    return json.loads(response.text)


def cookie_value(header: str | None) -> str | None:
    """The value of a ``Set-Cookie`` header for the session cookie."""
    if header is None:
        return None
    return header.split(";", 1)[0].split("=", 1)[1]


def wsgi_cookie(response: TestResponse) -> str | None:
    return cookie_value(session_cookie(response, NAME))


def new_sid() -> str:
    # As express-session's uid-safe makes them.
    return secrets.token_urlsafe(24)


def data_of(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "cookie"}


DATA = {
    "user": {"name": "Zoë", "roles": ["admin", "ops"]},
    "views": 3,
    "ratio": 0.5,
    "nothing": None,
    "flag": True,
    "text": 'naïve ☃ "quoted" \u2028',
}


# 1. connect-redis and RedisStore.

NODE_COOKIES = {
    "persistent": {"maxAge": 3_600_000, "sameSite": "lax"},
    "browser-session": {},
    "every-attribute": {
        "maxAge": 60_000,
        "sameSite": "strict",
        "domain": "example.test",
        "path": "/",
        "priority": "high",
        "partitioned": True,
        "secure": True,
        "httpOnly": False,
    },
}


def redis_config(url: str, prefix: str) -> dict[str, Any]:
    return {"backend": "redis", "url": url, "prefix": prefix}


@pytest.mark.parametrize("kind", sorted(NODE_COOKIES))
def test_connect_redis_session_is_read_by_wsgisession(
    node: Node, redis_url: str, redis_prefix: str, stores: list[Store], kind: str
) -> None:
    sid = new_sid()
    op = {"op": "set", "sid": sid, "cookie": NODE_COOKIES[kind], "data": DATA}
    [written] = node.store(redis_config(redis_url, redis_prefix), op)
    assert data_of(written) == DATA
    store = RedisStore(url=redis_url, prefix=redis_prefix)
    stores.append(store)
    assert store.get(sid) == written

    [signed] = node.cookies([{"secret": SECRET, "sid": sid}])
    response = wsgi_get(wsgi_client(store), "/", signed["value"], base_url="https://localhost/")
    shown = answer_of(response)
    assert shown["id"] == sid
    assert shown["data"] == DATA
    assert shown["cookie"] == written["cookie"]
    assert wsgi_cookie(response) is None  # loaded and unchanged: nothing to send


PYTHON_COOKIES: dict[str, dict[str, Any]] = {
    "persistent": {"max_age": 3600, "samesite": "strict"},
    "browser-session": {"samesite": "lax"},
    "every-attribute": {
        "max_age": 60,
        "samesite": "none",
        "domain": "example.test",
        "priority": "high",
        "partitioned": True,
        "secure": True,
        "httponly": False,
    },
}


def write_through_wsgisession(store: Store, kind: str) -> tuple[str, dict[str, Any]]:
    """Log a user in through the middleware; the session id and stored record."""
    sid = new_sid()
    client = wsgi_client(store, cookie=PYTHON_COOKIES[kind], genid=lambda environ: sid)
    response = wsgi_get(client, "/login?user=Zo%C3%AB", base_url="https://localhost/")
    assert response.status_code == 200
    assert sid_from(response, NAME) == sid
    record = store.get(sid)
    assert record is not None
    assert data_of(record) == {"user": "Zoë", "views": 1}
    return sid, record


def assert_node_read(result: dict[str, Any] | None, record: dict[str, Any]) -> None:
    """What connect-*.get() gave back is ``record``, and express-session
    inflates its cookie to the same expiry."""
    assert result is not None
    assert result["sess"] == record
    cookie = record["cookie"]
    assert result["expires"] == cookie["expires"]
    if cookie["expires"] is None:
        assert result["maxAge"] is None
    else:
        assert 0 < result["maxAge"] <= cookie["originalMaxAge"]


@pytest.mark.parametrize("kind", sorted(PYTHON_COOKIES))
def test_wsgisession_session_is_read_by_connect_redis(
    node: Node, redis_url: str, redis_prefix: str, stores: list[Store], kind: str
) -> None:
    store = RedisStore(url=redis_url, prefix=redis_prefix)
    stores.append(store)
    sid, record = write_through_wsgisession(store, kind)
    [result] = node.store(redis_config(redis_url, redis_prefix), {"op": "get", "sid": sid})
    assert_node_read(result, record)


def test_destroy_on_either_side_is_seen_by_the_other(
    node: Node, redis_url: str, redis_prefix: str, stores: list[Store]
) -> None:
    store = RedisStore(url=redis_url, prefix=redis_prefix)
    stores.append(store)
    config = redis_config(redis_url, redis_prefix)
    node_sid, python_sid = new_sid(), new_sid()
    node.store(config, {"op": "set", "sid": node_sid, "cookie": {"maxAge": 60_000}, "data": {}})
    store.set(python_sid, make_record(60, who="python"))
    store.destroy(node_sid)
    results = node.store(
        config,
        {"op": "get", "sid": node_sid},
        {"op": "destroy", "sid": python_sid},
        {"op": "length"},
    )
    assert results == [None, None, 0]
    assert store.get(python_sid) is None


# 2. connect-pg-simple and PostgresStore, one table.


def pg_config(con_object: dict[str, Any], schema: str, create: bool) -> dict[str, Any]:
    return {
        "backend": "pg",
        "conObject": con_object,
        "schemaName": schema,
        "tableName": "session",
        "createTableIfMissing": create,
    }


def table_shape(postgres_dsn: str, schema: str) -> dict[str, Any]:
    """Columns, constraints and indexes of ``schema``.session, schema-free."""
    with psycopg.connect(postgres_dsn) as connection:
        columns = connection.execute(
            "SELECT column_name, data_type, is_nullable, datetime_precision,"
            " character_maximum_length, collation_name, column_default"
            " FROM information_schema.columns WHERE table_schema = %s AND table_name = 'session'"
            " ORDER BY ordinal_position",
            (schema,),
        ).fetchall()
        constraints = connection.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) ORDER BY conname",
            (f'"{schema}".session',),
        ).fetchall()
        indexes = connection.execute(
            "SELECT indexname, replace(indexdef, %s, 'SCHEMA.') FROM pg_indexes"
            " WHERE schemaname = %s AND tablename = 'session' ORDER BY indexname",
            (f"{schema}.", schema),
        ).fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


def test_postgres_store_makes_connect_pg_simples_table(
    node: Node,
    postgres_dsn: str,
    pg_con_object: dict[str, Any],
    pg_schemas: Callable[[], str],
    stores: list[Store],
) -> None:
    by_node, by_python = pg_schemas(), pg_schemas()
    # Its first query creates the table (connect-pg-simple has no length()).
    config = pg_config(pg_con_object, by_node, create=True)
    assert node.store(config, {"op": "get", "sid": "missing"}) == [None]
    stores.append(PostgresStore(postgres_dsn, schema=by_python))
    node_table = table_shape(postgres_dsn, by_node)
    assert node_table["columns"], "connect-pg-simple created no table"
    assert table_shape(postgres_dsn, by_python) == node_table


@pytest.fixture(params=["connect-pg-simple", "PostgresStore"])
def shared_table(
    request: pytest.FixtureRequest,
    node: Node,
    postgres_dsn: str,
    pg_con_object: dict[str, Any],
    pg_schemas: Callable[[], str],
    stores: list[Store],
) -> tuple[dict[str, Any], PostgresStore]:
    """One table for both sides, created by the side the parameter names;
    the other side only uses it."""
    schema = pg_schemas()
    by_node = request.param == "connect-pg-simple"
    config = pg_config(pg_con_object, schema, create=by_node)
    if by_node:
        assert node.store(config, {"op": "get", "sid": "missing"}) == [None]
    store = PostgresStore(postgres_dsn, schema=schema, create_table=not by_node)
    stores.append(store)
    return config, store


@pytest.mark.parametrize("kind", ["persistent", "browser-session"])
def test_connect_pg_simple_session_is_read_by_wsgisession(
    node: Node, shared_table: tuple[dict[str, Any], PostgresStore], kind: str
) -> None:
    config, store = shared_table
    sid = new_sid()
    op = {"op": "set", "sid": sid, "cookie": NODE_COOKIES[kind], "data": DATA}
    [written] = node.store(config, op)
    assert store.get(sid) == written
    [signed] = node.cookies([{"secret": SECRET, "sid": sid}])
    shown = answer_of(wsgi_get(wsgi_client(store), "/", signed["value"]))
    assert (shown["id"], shown["data"], shown["cookie"]) == (sid, DATA, written["cookie"])


@pytest.mark.parametrize("kind", ["persistent", "browser-session"])
def test_wsgisession_session_is_read_by_connect_pg_simple(
    node: Node, shared_table: tuple[dict[str, Any], PostgresStore], kind: str
) -> None:
    config, store = shared_table
    sid, record = write_through_wsgisession(store, kind)
    [result] = node.store(config, {"op": "get", "sid": sid})
    assert_node_read(result, record)


def test_updates_and_destroys_cross_over_in_one_table(
    node: Node, shared_table: tuple[dict[str, Any], PostgresStore]
) -> None:
    config, store = shared_table
    sid = new_sid()
    node.store(config, {"op": "set", "sid": sid, "cookie": {"maxAge": 60_000}, "data": {"n": 1}})
    store.set(sid, make_record(120, n=2))
    [read] = node.store(config, {"op": "get", "sid": sid})
    assert read["sess"]["n"] == 2
    node.store(config, {"op": "set", "sid": sid, "cookie": {"maxAge": 60_000}, "data": {"n": 3}})
    loaded = store.get(sid)
    assert loaded is not None
    assert loaded["n"] == 3
    assert store.length() == 1
    node.store(config, {"op": "destroy", "sid": sid})
    assert store.get(sid) is None


# 3. Cookie values.

SIDS = [
    new_sid(),
    "abc",
    "a+b/c=d",
    "with space",
    "ü-ñ-中",
    "!'()*~._-",
    "%41%",
    "x" * 200,
]
SECRETS = [SECRET, "clé ☃ secrète", "s" * 100]


def test_cookie_values_are_cookie_signatures(node: Node) -> None:
    items = [{"secret": secret, "sid": sid} for secret in SECRETS for sid in SIDS]
    expected = [result["value"] for result in node.cookies(items)]
    sent = []
    for item in items:
        sid = item["sid"]
        client = wsgi_client(MemoryStore(), secret=item["secret"], genid=lambda environ, s=sid: s)
        sent.append(wsgi_cookie(wsgi_get(client, "/login?user=u")))
    assert sent == expected


def test_cookies_signed_by_node_are_accepted(node: Node) -> None:
    store = MemoryStore()
    for n, sid in enumerate(SIDS):
        store.set(sid, make_record(600, n=n))
    items = [{"secret": secret, "sid": sid} for secret in [*SECRETS, "old"] for sid in SIDS]
    values = [result["value"] for result in node.cookies(items)]
    for item, value in zip(items, values, strict=True):
        # The newest secret signs; "old" still verifies, as after a rotation.
        secret = ["new", "old"] if item["secret"] == "old" else item["secret"]
        shown = answer_of(wsgi_get(wsgi_client(store, secret=secret), "/", value))
        assert shown["id"] == item["sid"], item
        assert shown["data"] == {"n": SIDS.index(item["sid"])}


def test_cookies_signed_by_node_with_another_secret_are_not(node: Node) -> None:
    store = MemoryStore()
    sid = new_sid()
    store.set(sid, make_record(600, n=1))
    [value] = [result["value"] for result in node.cookies([{"secret": "other", "sid": sid}])]
    shown = answer_of(wsgi_get(wsgi_client(store), "/", value))
    assert shown["id"] != sid
    assert shown["data"] == {}


def _attributes(header: str) -> tuple[str, set[str]]:
    value, *attributes = (part.strip() for part in header.split(";"))
    return value, {attribute.lower() for attribute in attributes}


@pytest.mark.parametrize("kind", sorted(PYTHON_COOKIES))
def test_set_cookie_is_express_sessions(node: Node, kind: str) -> None:
    store = MemoryStore()
    sid = new_sid()
    client = wsgi_client(store, cookie=PYTHON_COOKIES[kind], genid=lambda environ: sid)
    header = session_cookie(wsgi_get(client, "/login?user=u", base_url="https://localhost/"), NAME)
    assert header is not None
    record = store.get(sid)
    assert record is not None
    [result] = node.cookies([{"secret": SECRET, "sid": sid, "cookie": record["cookie"]}])
    # Attribute order aside, the header is the one express-session would send.
    assert _attributes(header) == _attributes(result["header"])


# 4. An express-session server and a wsgisession app, side by side.


def _read_line(stream: IO[str], timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


@contextlib.contextmanager
def node_server(node: Node, config: dict[str, Any]) -> Iterator[str]:
    """Run tests/node/server.js; yield its base URL."""
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [node.executable, str(NODE_DIR / "server.js"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=node.env,
        )
        try:
            assert process.stdout is not None
            line = _read_line(process.stdout, timeout=30)
            if not line:
                errors.seek(0)
                pytest.fail(f"the express-session server did not start:\n{errors.read()}")
            yield f"http://127.0.0.1:{json.loads(line)['port']}"
        finally:
            assert process.stdin is not None
            process.stdin.close()  # the server exits when its stdin closes
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()


# No proxy from the environment for 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def node_get(base: str, path: str, cookie: str | None = None) -> tuple[Any, str | None]:
    """GET from the Node server: its JSON answer and the session cookie it set."""
    headers = {"Cookie": f"{NAME}={cookie}"} if cookie is not None else {}
    request = urllib.request.Request(base + path, headers=headers)
    with _opener.open(request, timeout=10) as response:
        body = json.load(response)
        set_cookies = response.headers.get_all("Set-Cookie") or []
    header = next((h for h in set_cookies if h.startswith(NAME + "=")), None)
    return body, cookie_value(header)


@pytest.fixture(params=["connect-redis", "connect-pg-simple"])
def side_by_side(
    request: pytest.FixtureRequest, node: Node, stores: list[Store]
) -> Iterator[tuple[str, Client]]:
    """A Node server and a WSGI client with the same secret, cookie name and store."""
    if request.param == "connect-redis":
        url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        config = redis_config(url, prefix)
        store: Store = RedisStore(url=url, prefix=prefix)
    else:
        schema = request.getfixturevalue("pg_schemas")()
        con_object = request.getfixturevalue("pg_con_object")
        config = pg_config(con_object, schema, create=True)
        store = PostgresStore(request.getfixturevalue("postgres_dsn"), schema=schema)
    stores.append(store)
    server = {"secret": SECRET, "name": NAME, "maxAge": 600_000, "store": config}
    with node_server(node, server) as base:
        yield base, wsgi_client(store)


def test_log_in_on_node_then_use_the_wsgi_app(side_by_side: tuple[str, Client]) -> None:
    base, client = side_by_side
    logged_in, cookie = node_get(base, "/login?user=alice")
    assert cookie is not None
    assert logged_in["data"] == {"user": "alice", "views": 1}

    shown = answer_of(wsgi_get(client, "/bump", cookie))
    assert shown["id"] == logged_in["id"]
    assert shown["data"] == {"user": "alice", "views": 2}
    assert shown["cookie"]["originalMaxAge"] == 600_000

    again, _ = node_get(base, "/whoami", cookie)
    assert again["id"] == logged_in["id"]
    assert again["data"] == {"user": "alice", "views": 2}

    node_get(base, "/logout", cookie)
    after = answer_of(wsgi_get(client, "/whoami", cookie))
    assert after["id"] != logged_in["id"]
    assert after["data"] == {}


def test_log_in_on_the_wsgi_app_then_use_node(side_by_side: tuple[str, Client]) -> None:
    base, client = side_by_side
    response = wsgi_get(client, "/login?user=bob")
    cookie = wsgi_cookie(response)
    assert cookie is not None
    logged_in = answer_of(response)

    shown, _ = node_get(base, "/bump", cookie)
    assert shown["id"] == logged_in["id"]
    assert shown["data"] == {"user": "bob", "views": 2}
    assert shown["cookie"]["originalMaxAge"] == 600_000

    again = answer_of(wsgi_get(client, "/whoami", cookie))
    assert (again["id"], again["data"]) == (logged_in["id"], {"user": "bob", "views": 2})

    wsgi_get(client, "/logout", cookie)
    after, _ = node_get(base, "/whoami", cookie)
    assert after["id"] != logged_in["id"]
    assert after["data"] == {}
