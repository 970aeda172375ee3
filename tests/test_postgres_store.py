"""PostgresStore against a real PostgreSQL server: connect-pg-simple's table,
upserts, expiry in SQL, pruning, schemas, caller pools, dropped connections
and a server that is down. The store contract itself runs in
test_store_contract.py.

Every test works in a schema of its own (``search_path`` points at it), which
is dropped with everything in it afterwards.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from werkzeug.test import Client

from tests.conftest import (
    expected_cookie_value,
    make_client,
    make_middleware,
    session_app,
    unique_name,
)
from wsgisession import PostgresStore, Session, StoreError
from wsgisession.record import record_expiry
from wsgisession.testing import make_record

# Nothing listens there: connections are refused at once.
DOWN_DSN = "host=127.0.0.1 port=1 dbname=test connect_timeout=2"


@dataclass
class Database:
    """A schema of this test's own on the test server."""

    base_dsn: str
    schema: str
    admin: psycopg.Connection[tuple[Any, ...]]
    schemas: list[str] = field(default_factory=list)
    stores: list[PostgresStore] = field(default_factory=list)
    pools: list[ConnectionPool[Any]] = field(default_factory=list)

    def dsn(self, **params: Any) -> str:
        """The server's DSN with ``search_path`` set to this test's schema."""
        return make_conninfo(self.base_dsn, options=f"-c search_path={self.schema}", **params)

    def store(self, conninfo: str | None = None, **options: Any) -> PostgresStore:
        """A PostgresStore on this test's schema, closed after the test."""
        if "pool" not in options and conninfo is None:
            conninfo = self.dsn()
        options.setdefault("max_size", 4)
        store = PostgresStore(conninfo, **options)
        self.stores.append(store)
        return store

    def pool(self, **options: Any) -> ConnectionPool[Any]:
        """A caller's pool on this test's schema, closed after the test."""
        options.setdefault("min_size", 1)
        options.setdefault("max_size", 2)
        pool: ConnectionPool[Any] = ConnectionPool(self.dsn(), open=True, **options)
        self.pools.append(pool)
        return pool

    def new_schema(self, name: str) -> str:
        """Create another schema, dropped after the test."""
        self.admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        self.schemas.append(name)
        return name

    def query(self, query: str | sql.Composable, params: Any = None) -> list[tuple[Any, ...]]:
        return self.admin.execute(query, params).fetchall()  # type: ignore[arg-type]

    def table(self, name: str = "session", schema: str | None = None) -> sql.Composable:
        return sql.Identifier(schema or self.schema, name)

    def count(self, where: str = "true", table: str = "session") -> int:
        rows = self.query(
            sql.SQL("SELECT count(*) FROM {} WHERE " + where).format(self.table(table))
        )
        return int(rows[0][0])

    def exists(self, name: str = "session", schema: str | None = None) -> bool:
        qualified = sql.Identifier(schema or self.schema, name).as_string(self.admin)
        return self.query("SELECT to_regclass(%s)", (qualified,))[0][0] is not None

    def insert(
        self, sid: str, sess: dict[str, Any], expire_sql: str, table: str = "session"
    ) -> None:
        """Insert a row directly, as another application would, with
        ``expire`` computed by the SQL expression ``expire_sql``."""
        self.admin.execute(
            sql.SQL(
                "INSERT INTO {} (sid, sess, expire) VALUES (%s, %s::json, " + expire_sql + ")"
            ).format(self.table(table)),
            (sid, json.dumps(sess)),
        )

    def row(self, sid: str, table: str = "session") -> tuple[str, float] | None:
        """The raw ``sess`` JSON text of ``sid`` and its ``expire`` as Unix time."""
        rows = self.query(
            sql.SQL(
                "SELECT sess::text, extract(epoch FROM expire::timestamptz)::float8"
                " FROM {} WHERE sid = %s"
            ).format(self.table(table)),
            (sid,),
        )
        return (rows[0][0], rows[0][1]) if rows else None


@pytest.fixture
def db(postgres_dsn: str) -> Iterator[Database]:
    schema = unique_name("wsgisession_test_")
    # Unqualified names resolve in this test's schema alone, never in public.
    admin = psycopg.connect(
        make_conninfo(postgres_dsn, options=f"-c search_path={schema}"), autocommit=True
    )
    database = Database(postgres_dsn, schema, admin)
    database.new_schema(schema)
    try:
        yield database
    finally:
        for store in database.stores:
            store.close()
        for pool in database.pools:
            pool.close()
        for name in database.schemas:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        admin.close()


def columns(db: Database, table: str, schema: str | None = None) -> list[tuple[Any, ...]]:
    return db.query(
        "SELECT column_name, data_type, is_nullable, datetime_precision,"
        " character_maximum_length, collation_name, column_default"
        " FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        " ORDER BY ordinal_position",
        (schema or db.schema, table),
    )


def indexes(db: Database, table: str, schema: str | None = None) -> dict[str, str]:
    rows = db.query(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (schema or db.schema, table),
    )
    return {name: definition for name, definition in rows}


def constraints(db: Database, table: str, schema: str | None = None) -> list[tuple[Any, ...]]:
    return db.query(
        "SELECT c.constraint_name, c.constraint_type, k.column_name"
        " FROM information_schema.table_constraints c"
        " LEFT JOIN information_schema.key_column_usage k"
        " ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name"
        " WHERE c.table_schema = %s AND c.table_name = %s AND c.constraint_type <> 'CHECK'"
        " ORDER BY c.constraint_name",
        (schema or db.schema, table),
    )


CONNECT_PG_SIMPLE_COLUMNS = [
    ("sid", "character varying", "NO", None, None, None, None),
    ("sess", "json", "NO", None, None, None, None),
    ("expire", "timestamp without time zone", "NO", 6, None, None, None),
]


# The table.


class TestTable:
    def test_table_is_connect_pg_simples(self, db: Database) -> None:
        # connect-pg-simple's table.sql: sid varchar NOT NULL (primary key
        # "session_pkey"), sess json NOT NULL, expire timestamp(6) NOT NULL,
        # and CREATE INDEX "IDX_session_expire" ON "session" ("expire").
        db.store()
        assert columns(db, "session") == CONNECT_PG_SIMPLE_COLUMNS
        assert constraints(db, "session") == [("session_pkey", "PRIMARY KEY", "sid")]
        assert indexes(db, "session") == {
            "session_pkey": f"CREATE UNIQUE INDEX session_pkey ON {db.schema}.session"
            " USING btree (sid)",
            "IDX_session_expire": f'CREATE INDEX "IDX_session_expire" ON {db.schema}.session'
            " USING btree (expire)",
        }

    def test_other_table_names_get_their_own_index(self, db: Database) -> None:
        db.store(table="web_sessions")
        assert columns(db, "web_sessions") == CONNECT_PG_SIMPLE_COLUMNS
        assert [row[1:] for row in constraints(db, "web_sessions")] == [("PRIMARY KEY", "sid")]
        definitions = indexes(db, "web_sessions").values()
        assert sum(definition.endswith("USING btree (expire)") for definition in definitions) == 1

    def test_table_is_created_once_and_reused(self, db: Database) -> None:
        first = db.store()
        first.set("sid-1", make_record(views=1))
        second = db.store()
        loaded = second.get("sid-1")
        assert loaded is not None
        assert loaded["views"] == 1
        assert len(indexes(db, "session")) == 2

    def test_create_table_false_does_not_create_it(self, db: Database) -> None:
        store = db.store(create_table=False)
        assert not db.exists("session")
        with pytest.raises(StoreError) as caught:
            store.get("sid-1")
        assert caught.value.operation == "get"
        assert isinstance(caught.value.__cause__, psycopg.errors.UndefinedTable)
        with pytest.raises(StoreError):
            store.set("sid-1", make_record(views=1))
        assert not db.exists("session")

    def test_create_table_false_uses_an_existing_table(self, db: Database) -> None:
        db.store().set("sid-1", make_record(views=1))
        store = db.store(create_table=False)
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["views"] == 1

    @pytest.mark.slow
    @pytest.mark.parametrize("round_", range(3))
    def test_stores_racing_to_create_one_table_do_not_fail(self, db: Database, round_: int) -> None:
        workers = 8
        table = f"race_{round_}"
        barrier = threading.Barrier(workers)
        errors: list[BaseException] = []
        made: list[PostgresStore] = []

        def create() -> None:
            try:
                barrier.wait(timeout=30)
                made.append(PostgresStore(db.dsn(), table=table, max_size=1))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=create) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        db.stores.extend(made)
        assert errors == []
        assert len(made) == workers
        assert columns(db, table) == CONNECT_PG_SIMPLE_COLUMNS
        assert len(indexes(db, table)) == 2
        made[0].set("sid-1", make_record(round=round_))
        loaded = made[-1].get("sid-1")
        assert loaded is not None
        assert loaded["round"] == round_

    def test_table_and_schema_names_are_quoted(self, db: Database) -> None:
        schema = db.new_schema(unique_name('Odd "Schema".') + " x")
        table = 'Sess "odd"; DROP TABLE x; --'
        store = db.store(schema=schema, table=table)
        assert db.exists(table, schema)
        assert columns(db, table, schema) == CONNECT_PG_SIMPLE_COLUMNS
        assert len(indexes(db, table, schema)) == 2
        store.set("sid-1", make_record(views=1))
        assert not db.exists(table)  # not in the search_path schema
        rows = db.query(sql.SQL("SELECT sid FROM {}").format(sql.Identifier(schema, table)))
        assert rows == [("sid-1",)]

    def test_long_table_names_each_get_an_expire_index(self, db: Database) -> None:
        # PostgreSQL cuts identifiers at 63 bytes, so "IDX_<table>_expire"
        # of two long table names can come out the same.
        common = "t" * 59
        for table in (common + "_1", common + "_2"):
            db.store(table=table)
            definitions = indexes(db, table).values()
            assert sum(d.endswith("USING btree (expire)") for d in definitions) == 1, table


# Writes and reads in SQL.


class TestRows:
    def test_second_set_replaces_the_row(self, db: Database) -> None:
        store = db.store()
        store.set("sid-1", make_record(60, views=1))
        first = make_record(7200, views=2)
        store.set("sid-1", first)
        assert db.count("sid = 'sid-1'") == 1
        row = db.row("sid-1")
        assert row is not None
        assert json.loads(row[0]) == first
        expiry = record_expiry(first)
        assert expiry is not None
        assert row[1] == pytest.approx(expiry, abs=0.002)

    def test_concurrent_first_writes_of_one_id_do_not_conflict(self, db: Database) -> None:
        store = db.store(max_size=8)
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def write(worker: int) -> None:
            try:
                barrier.wait(timeout=30)
                for n in range(10):
                    store.set(f"sid-{n}", make_record(worker=worker))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert db.count() == 10

    def test_expire_of_a_browser_session_record_is_now_plus_ttl(self, db: Database) -> None:
        store = db.store(ttl=100)
        before = time.time()
        store.set("sid-1", make_record(None, views=1))
        after = time.time()
        row = db.row("sid-1")
        assert row is not None
        assert before + 100 - 0.002 <= row[1] <= after + 100 + 0.002

    def test_refresh_moves_the_expire_column_by_the_stored_lifetime(self, db: Database) -> None:
        store = db.store()
        record = make_record(60, views=1)
        record["cookie"]["originalMaxAge"] = 7_200_500
        store.set("sid-1", record)
        stored_json = db.row("sid-1")
        assert stored_json is not None
        before = time.time()
        assert store.refresh("sid-1") is True
        after = time.time()
        row = db.row("sid-1")
        assert row is not None
        # As connect-pg-simple's touch: the expire column moves, the JSON stays.
        assert row[0] == stored_json[0]
        assert before + 7200.5 - 0.002 <= row[1] <= after + 7200.5 + 0.002

    def test_refresh_of_a_browser_session_row_uses_the_ttl(self, db: Database) -> None:
        store = db.store(ttl=100)
        store.set("sid-1", make_record(None, views=1))
        before = time.time()
        assert store.refresh("sid-1") is True
        after = time.time()
        row = db.row("sid-1")
        assert row is not None
        assert before + 100 - 0.002 <= row[1] <= after + 100 + 0.002

    def test_get_and_refresh_is_one_update_returning_the_record(self, db: Database) -> None:
        store = db.store()
        record = make_record(60, views=1)
        record["cookie"]["originalMaxAge"] = 7_200_500
        store.set("sid-1", record)
        before = time.time()
        assert store.get_and_refresh("sid-1") == record
        after = time.time()
        row = db.row("sid-1")
        assert row is not None
        assert before + 7200.5 - 0.002 <= row[1] <= after + 7200.5 + 0.002
        assert store.get_and_refresh("missing") is None

    @pytest.mark.parametrize("column", ["jsonb", "text"])
    def test_refresh_works_on_a_table_whose_sess_is_not_json(
        self, db: Database, column: str
    ) -> None:
        # A table made by hand or by another tool may hold the record as jsonb or text.
        db.admin.execute(
            f"CREATE TABLE other_{column} (sid varchar PRIMARY KEY, sess {column} NOT NULL,"
            " expire timestamp(6) NOT NULL)"
        )
        store = db.store(table=f"other_{column}", create_table=False)
        record = make_record(60, views=1)
        record["cookie"]["originalMaxAge"] = 7_200_000
        store.set("sid-1", record)
        before = time.time()
        assert store.refresh("sid-1") is True
        loaded = store.get_and_refresh("sid-1")
        assert loaded is not None
        assert loaded["views"] == 1
        row = db.row("sid-1", table=f"other_{column}")
        assert row is not None
        assert row[1] == pytest.approx(before + 7200, abs=5)

    def test_refresh_of_an_expired_row_is_false_and_leaves_it(self, db: Database) -> None:
        store = db.store()
        db.insert("sid-1", make_record(60, views=1), "now() - interval '1 second'")
        before = db.row("sid-1")
        assert store.refresh("sid-1") is False
        assert db.row("sid-1") == before

    def test_reads_ignore_expired_rows_before_any_prune(self, db: Database) -> None:
        store = db.store(prune_every=1_000_000)
        # Only the row's expire says it is over: its cookie claims an hour more.
        db.insert("old", make_record(3600, who="old"), "localtimestamp - interval '1 minute'")
        db.insert("live", make_record(3600, who="live"), "localtimestamp + interval '1 hour'")
        assert store.get("old") is None
        assert set(store.all()) == {"live"}
        assert store.length() == 1
        store.touch("old", make_record(3600))
        assert store.get("old") is None
        loaded = store.get("live")
        assert loaded is not None
        assert loaded["who"] == "live"
        assert db.count() == 2  # reading removed nothing

    def test_set_over_an_expired_row_replaces_it(self, db: Database) -> None:
        store = db.store()
        db.insert("sid-1", make_record(3600, who="old"), "localtimestamp - interval '1 minute'")
        store.set("sid-1", make_record(3600, who="new"))
        loaded = store.get("sid-1")
        assert loaded is not None
        assert loaded["who"] == "new"
        assert db.count() == 1

    def test_rows_written_like_connect_pg_simple_are_read(self, db: Database) -> None:
        # connect-pg-simple: expire = to_timestamp(ceil(expires in seconds)).
        store = db.store()
        record = make_record(600, views=4, user={"name": "ann"})
        expiry = record_expiry(record)
        assert expiry is not None
        db.admin.execute(
            sql.SQL("INSERT INTO {} (sess, expire, sid) SELECT %s, to_timestamp(%s), %s").format(
                db.table()
            ),
            (json.dumps(record), float(int(expiry) + 1), "node-sid"),
        )
        assert store.get("node-sid") == record

    def test_touch_updates_only_expire(self, db: Database) -> None:
        store = db.store()
        store.set("sid-1", make_record(60, views=1, nested={"b": 2, "a": 1}))
        before = db.row("sid-1")
        assert before is not None
        later = make_record(7200, views=999)
        store.touch("sid-1", later)
        after = db.row("sid-1")
        assert after is not None
        assert after[0] == before[0]  # sess, byte for byte
        expiry = record_expiry(later)
        assert expiry is not None
        assert after[1] == pytest.approx(expiry, abs=0.002)
        assert after[1] > before[1] + 7000

    def test_touch_without_expiry_sets_now_plus_ttl(self, db: Database) -> None:
        store = db.store(ttl=500)
        store.set("sid-1", make_record(60, views=1))
        sess_before = db.row("sid-1")
        before = time.time()
        store.touch("sid-1", make_record(None))
        after = time.time()
        row = db.row("sid-1")
        assert row is not None
        assert sess_before is not None
        assert row[0] == sess_before[0]
        assert before + 500 - 0.002 <= row[1] <= after + 500 + 0.002

    def test_sess_is_json_the_database_can_query(self, db: Database) -> None:
        store = db.store()
        store.set("sid-1", make_record(user={"name": "Zoë"}))
        rows = db.query(
            sql.SQL("SELECT sess->'user'->>'name', json_typeof(sess->'cookie') FROM {}").format(
                db.table()
            )
        )
        assert rows == [("Zoë", "object")]


# Pruning.


class TestPrune:
    def test_prune_deletes_expired_rows_in_batches(self, db: Database) -> None:
        store = db.store(prune_batch=10, prune_every=1_000_000)
        for n in range(25):
            db.insert(f"old-{n}", make_record(-60), "localtimestamp - interval '1 minute'")
        for n in range(3):
            store.set(f"live-{n}", make_record(3600))
        expired = "expire <= localtimestamp"
        assert [store.prune() for _ in range(4)] == [10, 10, 5, 0]
        assert db.count(expired) == 0
        assert db.count() == 3
        assert store.length() == 3

    def test_every_prune_every_writes_prune_once(self, db: Database) -> None:
        store = db.store(prune_every=5, prune_batch=3)
        for n in range(10):
            db.insert(f"old-{n}", make_record(-60), "localtimestamp - interval '1 minute'")
        expired = "expire <= localtimestamp"
        left = []
        for n in range(12):
            store.set(f"live-{n}", make_record(3600, n=n))
            left.append(db.count(expired))
        assert left == [10, 10, 10, 10, 7, 7, 7, 7, 7, 4, 4, 4]
        assert db.count("expire > localtimestamp") == 12

    def test_prune_keeps_live_rows(self, db: Database) -> None:
        store = db.store(prune_batch=1000)
        store.set("live", make_record(3600, views=1))
        store.set("browser", make_record(None, views=2))
        assert store.prune() == 0
        assert db.count() == 2


# Schemas and pools.


class TestSchemaAndPool:
    def test_schema_option(self, db: Database) -> None:
        first = db.new_schema(unique_name("wsgisession_test_a_"))
        second = db.new_schema(unique_name("wsgisession_test_b_"))
        # Outside the search_path: both land where schema= says.
        store_a = db.store(make_conninfo(db.base_dsn), schema=first)
        store_b = db.store(make_conninfo(db.base_dsn), schema=second)
        assert db.exists("session", first)
        assert db.exists("session", second)
        assert not db.exists("session")
        assert columns(db, "session", first) == CONNECT_PG_SIMPLE_COLUMNS
        assert "IDX_session_expire" in indexes(db, "session", second)
        store_a.set("sid-1", make_record(who="a"))
        assert store_b.get("sid-1") is None
        loaded = store_a.get("sid-1")
        assert loaded is not None
        assert loaded["who"] == "a"
        rows = db.query(sql.SQL("SELECT sid FROM {}").format(db.table("session", first)))
        assert rows == [("sid-1",)]

    def test_a_callers_pool_is_used_and_not_closed(self, db: Database) -> None:
        pool = db.pool(kwargs={"autocommit": True})
        requests = pool.get_stats().get("requests_num", 0)
        store = db.store(pool=pool)
        assert store.pool is pool
        store.set("sid-1", make_record(views=1))
        assert store.get("sid-1") is not None
        assert pool.get_stats().get("requests_num", 0) >= requests + 3
        store.close()
        assert not pool.closed
        with pool.connection() as connection:
            count = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(db.table()))
            assert count.fetchone() == (1,)

    def test_a_pool_of_its_own_is_closed(self, db: Database) -> None:
        store = db.store()
        store.set("sid-1", make_record())
        store.close()
        assert store.pool.closed

    def test_a_pool_without_autocommit_still_commits(self, db: Database) -> None:
        pool = db.pool()  # psycopg's default: autocommit off
        with pool.connection() as connection:
            assert not connection.autocommit
        store = db.store(pool=pool, table="nonauto")
        assert db.exists("nonauto")  # the DDL was committed
        store.set("sid-1", make_record(60, views=1))
        assert db.count("sid = 'sid-1'", table="nonauto") == 1
        store.touch("sid-1", make_record(7200))
        row = db.row("sid-1", table="nonauto")
        assert row is not None
        assert row[1] > time.time() + 7000
        store.set("sid-2", make_record(views=2))
        store.destroy("sid-1")
        assert db.count(table="nonauto") == 1
        loaded = store.get("sid-2")
        assert loaded is not None
        assert loaded["views"] == 2
        # Nothing is left open on the pool's connections.
        with pool.connection() as connection:
            assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


# A dropped connection.


def terminate(db: Database, application_name: str) -> int:
    """Terminate every backend of ``application_name``; wait until they are gone."""
    rows = db.query(
        "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
        (application_name,),
    )
    pids = [pid for pid, done in rows if done]
    deadline = time.monotonic() + 10
    while db.query("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)):
        assert time.monotonic() < deadline, "terminated backends did not go away"
        time.sleep(0.05)
    return len(pids)


def warm_up(store: PostgresStore, workers: int = 4) -> None:
    """Use the pool from several threads at once so it holds several connections."""
    barrier = threading.Barrier(workers)

    def work() -> None:
        barrier.wait(timeout=30)
        for _ in range(10):
            store.get("sid-1")

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


class TestDroppedConnection:
    @pytest.mark.slow
    def test_next_operation_works_after_the_backends_are_terminated(self, db: Database) -> None:
        name = unique_name("wsgisession-drop-")
        store = db.store(db.dsn(application_name=name), max_size=4)
        store.set("sid-1", make_record(views=1))
        warm_up(store)
        assert terminate(db, name) >= 1
        failures: list[StoreError] = []
        results = []
        for views in (2, 3, 4):
            try:
                store.set("sid-1", make_record(views=views))
                loaded = store.get("sid-1")
                assert loaded is not None
                results.append(loaded["views"])
            except StoreError as error:
                failures.append(error)
        assert len(failures) <= 1
        assert all(isinstance(error.__cause__, psycopg.OperationalError) for error in failures)
        assert results[-2:] == [3, 4]
        assert db.count() == 1

    @pytest.mark.slow
    def test_a_pool_of_the_caller_recovers_too(self, db: Database) -> None:
        name = unique_name("wsgisession-drop-")
        pool = ConnectionPool(
            db.dsn(application_name=name), min_size=2, max_size=2, open=True, timeout=5
        )
        db.pools.append(pool)
        pool.wait(timeout=10)
        store = db.store(pool=pool)
        store.set("sid-1", make_record(views=1))
        assert terminate(db, name) == 2
        outcomes = []
        for _ in range(3):
            try:
                outcomes.append(store.get("sid-1") is not None)
            except StoreError:
                outcomes.append(False)
        assert outcomes.count(False) <= 1
        assert outcomes[-1] is True

    @pytest.mark.slow
    def test_requests_go_on_after_the_backends_are_terminated(self, db: Database) -> None:
        name = unique_name("wsgisession-drop-")
        store = db.store(db.dsn(application_name=name))

        def count(session: Session, environ: dict[str, Any]) -> str:
            session["views"] = session.get("views", 0) + 1
            return str(session["views"])

        client = make_client(count, store=store, resave=False, save_uninitialized=False)
        assert client.get("/").text == "1"
        assert client.get("/").text == "2"
        assert terminate(db, name) >= 1
        answers = []
        for _ in range(3):
            try:
                answers.append(client.get("/").text)
            except StoreError:
                answers.append("error")
        assert answers.count("error") <= 1
        assert answers[-1] != "error"
        # A failed request changed nothing; the others count on from 2.
        numbers = [answer for answer in answers if answer != "error"]
        assert numbers == [str(3 + n) for n in range(len(numbers))]


# A server that is down.


class TestServerDown:
    @pytest.mark.slow
    def test_construction_fails_with_store_error(self) -> None:
        before = {thread.name for thread in threading.enumerate()}
        with pytest.raises(StoreError) as caught:
            PostgresStore(DOWN_DSN, timeout=0.3)
        error = caught.value
        assert (error.store, error.operation) == ("PostgresStore", "create_table")
        assert isinstance(error.__cause__, psycopg.OperationalError)
        assert str(error).startswith("PostgresStore.create_table() failed")
        # The pool it made for itself is not left running, reconnecting forever.
        deadline = time.monotonic() + 2
        while True:
            leaked = [
                thread.name
                for thread in threading.enumerate()
                if thread.name not in before and thread.name.startswith("wsgisession")
            ]
            if not leaked or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Close such a pool (reached through the garbage collector) so it does
        # not go on logging for the rest of the run, then fail.
        for pool in [o for o in gc.get_objects() if isinstance(o, ConnectionPool)]:
            if pool.conninfo == DOWN_DSN and not pool.closed:
                pool.close()
        assert leaked == [], "a failed PostgresStore() left its pool open"

    @pytest.mark.slow
    @pytest.mark.parametrize(
        ("operation", "args"),
        [
            ("get", ("sid-1",)),
            ("set", ("sid-1", make_record(views=1))),
            ("destroy", ("sid-1",)),
            ("touch", ("sid-1", make_record())),
            ("refresh", ("sid-1",)),
            ("get_and_refresh", ("sid-1",)),
            ("all", ()),
            ("length", ()),
            ("clear", ()),
            ("prune", ()),
        ],
    )
    def test_every_operation_fails_with_store_error(
        self, operation: str, args: tuple[Any, ...]
    ) -> None:
        store = PostgresStore(DOWN_DSN, create_table=False, timeout=0.3)
        try:
            with pytest.raises(StoreError) as caught:
                getattr(store, operation)(*args)
        finally:
            store.close()
        error = caught.value
        assert (error.store, error.operation) == ("PostgresStore", operation)
        assert isinstance(error.__cause__, psycopg.OperationalError)
        assert f"PostgresStore.{operation}()" in str(error)

    @pytest.mark.slow
    def test_a_callers_pool_on_a_down_server(self) -> None:
        pool: ConnectionPool[Any] = ConnectionPool(DOWN_DSN, min_size=1, open=True, timeout=0.3)
        try:
            store = PostgresStore(pool=pool, create_table=False)
            with pytest.raises(StoreError) as caught:
                store.get("sid-1")
            assert caught.value.operation == "get"
            assert isinstance(caught.value.__cause__, psycopg.OperationalError)
        finally:
            pool.close()

    @pytest.mark.slow
    def test_a_request_raises_store_error(self) -> None:
        store = PostgresStore(DOWN_DSN, create_table=False, timeout=0.3)
        try:
            middleware = make_middleware(
                session_app(lambda session, environ: str(session.get("views"))),
                store=store,
                resave=False,
                save_uninitialized=False,
            )
            client = Client(middleware, use_cookies=False)
            cookie = expected_cookie_value("some-sid")
            with pytest.raises(StoreError) as caught:
                client.get("/", headers={"Cookie": f"connect.sid={cookie}"})
            assert (caught.value.store, caught.value.operation) == (
                "PostgresStore",
                "get_and_refresh",
            )
            assert isinstance(caught.value.__cause__, psycopg.OperationalError)

            def write(session: Session, environ: dict[str, Any]) -> str:
                session["views"] = 1
                return "ok"

            with pytest.raises(StoreError) as caught:
                make_client(write, store=store, resave=False, save_uninitialized=False).get("/")
            assert caught.value.operation == "set"
        finally:
            store.close()


# Options.


class TestOptions:
    def test_conninfo_and_pool_together(self, db: Database) -> None:
        pool = db.pool()
        with pytest.raises(TypeError, match=r"conninfo.*pool"):
            PostgresStore(db.dsn(), pool=pool)

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("table", ""),
            ("table", None),
            ("table", 5),
            ("schema", ""),
            ("schema", 5),
            ("ttl", 0),
            ("ttl", -1),
            ("ttl", float("inf")),
            ("ttl", float("nan")),
            ("ttl", "60"),
            ("ttl", True),
            ("max_size", 0),
            ("max_size", -1),
            ("max_size", 2.5),
            ("max_size", True),
            ("prune_every", 0),
            ("prune_every", 1.5),
            ("prune_every", None),
            ("prune_batch", 0),
            ("prune_batch", -5),
            ("prune_batch", "10"),
            ("timeout", 0),
            ("timeout", -1),
            ("timeout", float("nan")),
            ("timeout", "5"),
        ],
    )
    def test_bad_option_is_rejected_before_connecting(self, option: str, value: Any) -> None:
        # The server is down: a store that connected first would fail
        # differently (StoreError), and slowly.
        with pytest.raises((TypeError, ValueError), match=option):
            PostgresStore(DOWN_DSN, **{option: value})

    def test_unknown_option(self) -> None:
        with pytest.raises(TypeError, match="tablename"):
            PostgresStore(DOWN_DSN, tablename="session")  # type: ignore[call-arg]

    def test_good_options_are_kept(self, db: Database) -> None:
        store = db.store(ttl=30, prune_every=7, prune_batch=9, max_size=3, timeout=2)
        assert store.ttl == 30.0
        assert (store.prune_every, store.prune_batch) == (7, 9)
        assert store.pool.max_size == 3
        assert store.pool.timeout == 2
