from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from gateway.store import Store, create_store_engine, open_store
from gateway.store.migrate import upgrade_to_head

PG_URL_VARIABLE = "CREDGATE_TEST_PG_URL"

StoreFactory = Callable[[], Store]


def _pg_url() -> str:
    url = os.environ.get(PG_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{PG_URL_VARIABLE} is not set; run .ci/start-postgres.sh and export "
            f"{PG_URL_VARIABLE}=postgresql+psycopg://credgate@127.0.0.1:5432/credgate_test"
        )
    return url


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_store_engine(f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'store.db'}")
    with engine.begin() as connection:
        upgrade_to_head(connection)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_store_factory(tmp_path: Path) -> Iterator[StoreFactory]:
    stores: list[Store] = []

    def make() -> Store:
        stores.append(open_store(f"sqlite:///{tmp_path / f'fresh-{len(stores)}.db'}"))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


class _Schemas:
    """Creates throw-away PostgreSQL schemas and drops them at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = create_store_engine(url)
        self._names: list[str] = []

    def create(self) -> str:
        name = f"credgate_t_{uuid.uuid4().hex[:12]}"
        with self._admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {name}")
        self._names.append(name)
        return name

    def drop_all(self) -> None:
        with self._admin.begin() as connection:
            for name in self._names:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[_Schemas]:
    schemas = _Schemas(_pg_url())
    yield schemas
    schemas.drop_all()


@pytest.fixture(scope="session")
def postgres_engine(pg_schemas: _Schemas) -> Iterator[Engine]:
    engine = create_store_engine(pg_schemas.url, schema=pg_schemas.create())
    with engine.begin() as connection:
        upgrade_to_head(connection)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_store_factory(pg_schemas: _Schemas) -> Iterator[StoreFactory]:
    stores: list[Store] = []

    def make() -> Store:
        stores.append(open_store(pg_schemas.url, schema=pg_schemas.create()))
        return stores[-1]

    yield make
    for store in stores:
        store.close()
