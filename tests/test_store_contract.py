"""Every store shipped passes the store contract of wsgisession.testing,
against its real backend."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import redis

from tests.conftest import unique_name
from wsgisession import MemoryStore, PostgresStore, RedisStore, SQLiteStore, Store
from wsgisession.testing import StoreContract as BaseContract


class StoreContract(BaseContract):
    # Every store here keeps expiry to the millisecond.
    short_ttl = 0.5


class TestMemoryStore(StoreContract):
    def make_store(self, ttl: float) -> Store:
        return MemoryStore(ttl=ttl)


class TestSQLiteStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_store(self, ttl: float) -> Store:
        return SQLiteStore(self.directory / f"{unique_name('s')}.db", ttl=ttl)


class TestSQLiteStoreSharedFile(StoreContract):
    """Stores in one file, apart by table."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.path = tmp_path / "shared.db"

    def make_store(self, ttl: float) -> Store:
        return SQLiteStore(self.path, table=unique_name("sessions_"), ttl=ttl)


class TestSQLiteStoreInMemory(StoreContract):
    def make_store(self, ttl: float) -> Store:
        return SQLiteStore(":memory:", ttl=ttl)


class TestRedisStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, redis_url: str) -> None:
        self.url = redis_url

    def make_store(self, ttl: float) -> Store:
        return RedisStore(url=self.url, prefix=unique_name("wsgisession-test:") + ":", ttl=ttl)


class TestRedisStoreDecodedResponses(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, redis_url: str) -> None:
        self.url = redis_url

    def make_store(self, ttl: float) -> Store:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        return RedisStore(client, prefix=unique_name("wsgisession-test:") + ":", ttl=ttl)


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_dsn: str) -> None:
        self.dsn = postgres_dsn
        self.tables: list[str] = []

    def make_store(self, ttl: float) -> Store:
        table = unique_name("session_")
        self.tables.append(table)
        return PostgresStore(self.dsn, table=table, ttl=ttl, max_size=4)

    def close_store(self, store: Store) -> None:
        super().close_store(store)
        assert isinstance(store, PostgresStore)
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f'DROP TABLE IF EXISTS "{store._table_name}"')
