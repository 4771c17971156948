from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from .conftest import StoreFactory
from .store_suite import StoreSuite


class TestSQLiteStore(StoreSuite):
    __test__ = True

    drop_update_trigger = "DROP TRIGGER audit_log_no_update"
    drop_delete_trigger = "DROP TRIGGER audit_log_no_delete"

    @pytest.fixture
    def migrated_engine(self, sqlite_engine: Engine) -> Engine:
        return sqlite_engine

    @pytest.fixture
    def store_factory(self, sqlite_store_factory: StoreFactory) -> StoreFactory:
        return sqlite_store_factory

    def test_connections_use_wal_foreign_keys_and_busy_timeout(self, sqlite_engine: Engine) -> None:
        # Execute
        with sqlite_engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
            busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()

        # Assert
        assert (journal, foreign_keys, busy) == ("wal", 1, 30_000)
