from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.errors import StoreError
from gateway.store import Store
from gateway.store.repositories import AuditLog

from .conftest import StoreFactory
from .store_suite import StoreSuite, append

pytestmark = pytest.mark.postgres


class TestPostgresStore(StoreSuite):
    __test__ = True

    drop_update_trigger = "DROP TRIGGER audit_log_no_update_delete ON audit_log"
    drop_delete_trigger = "DROP TRIGGER audit_log_no_update_delete ON audit_log"

    @pytest.fixture
    def migrated_engine(self, postgres_engine: Engine) -> Engine:
        return postgres_engine

    @pytest.fixture
    def store_factory(self, postgres_store_factory: StoreFactory) -> StoreFactory:
        return postgres_store_factory

    def test_database_rejects_truncate_of_the_audit_log(self, store: Store) -> None:
        # Prepare
        append(AuditLog(store), 1)

        # Execute / Assert
        with pytest.raises(StoreError, match="append-only"), store.transaction() as session:
            session.execute(sa.text("TRUNCATE audit_log"))
