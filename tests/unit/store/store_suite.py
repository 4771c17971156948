"""The backend-independent store suite; subclassed once per backend."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from gateway.crypto.ed25519 import Ed25519Key
from gateway.errors import InvalidInputError, NotFoundError, ProtocolRefused, StoreError
from gateway.ingest import run_import
from gateway.roles import Role
from gateway.store import Store
from gateway.store.enums import AuditDecision, Segment
from gateway.store.errors import AuditChainError
from gateway.store.migrate import current_revision, downgrade_to, head_revision, upgrade_to_head
from gateway.store.models import Account, AuditRecord, Base, Borrower
from gateway.store.repositories import AuditLog, MemberDirectory
from gateway.store.repositories.audit import (
    AUDIT_LOG,
    GENESIS_HASH,
    audit_leaf_data,
    build_tree,
    compute_entry_hash,
    hashed_fields,
)
from gateway.store.repositories.checks import CachedRow, CheckCache, CheckRounds, RoundInfo
from gateway.store.repositories.rounds import ResponderState
from gateway.tlog.checkpoints import CheckpointStore, Publication
from gateway.tlog.errors import LogIntegrityError
from gateway.tlog.keys import audit_origin
from gateway.tlog.merkle import leaf_hash
from gateway.tlog.note import NoteSigner, NoteVerifier
from gateway.tlog.tree import SqlTree
from gateway.transparency.publisher import LogPublisher
from gateway.transparency.verify import verify_audit_log

from .conftest import StoreFactory

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
# audit_log's columns at revision 0002 (before the transparency log), besides seq.
OLD_COLUMNS = (
    "recorded_at",
    "actor_member_id",
    "actor_role",
    "action",
    "resource",
    "decision",
    "reason",
    "correlation_id",
    "details",
    "prev_hash",
    "entry_hash",
)
FINGERPRINT = "ab" * 32


def new_borrower(ref: str = "B1", *, created_at: dt.datetime = T0) -> Borrower:
    return Borrower(
        borrower_ref=ref,
        resident_id="11010119900101001X",
        name="张三",
        mobile="13800000001",
        address="北京市东城区1号",
        province="北京",
        created_at=created_at,
    )


def new_account(borrower_id: int, *, outstanding: str = "10.50") -> Account:
    return Account(
        account_ref="A1",
        borrower_id=borrower_id,
        segment=Segment.BANK,
        product="loan",
        credit_limit=Decimal("1000"),
        principal=Decimal("900"),
        outstanding=Decimal(outstanding),
        days_past_due=0,
        status="active",
        opened_on=dt.date(2024, 1, 1),
    )


def append(log: AuditLog, n: int, *, at: dt.datetime = T0) -> None:
    for i in range(n):
        log.append(
            actor_member_id="bank-a",
            actor_role="member",
            action="subject_check",
            resource=f"query/{i}",
            decision=AuditDecision.ALLOW,
            reason="policy allow",
            correlation_id=f"corr-{i}",
            details={"token_prefix": "9f3a", "n": i},
            at=at + dt.timedelta(seconds=i),
        )


class StoreSuite:
    """Contract every store backend must meet."""

    __test__ = False

    drop_update_trigger: str
    drop_delete_trigger: str

    @pytest.fixture
    def migrated_engine(self) -> Engine:
        raise NotImplementedError

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        raise NotImplementedError

    @pytest.fixture
    def store(self, migrated_engine: Engine) -> Iterator[Store]:
        """A store on one connection whose outer transaction is rolled back after the test."""
        with migrated_engine.connect() as connection:
            outer = connection.begin()
            yield Store(connection)
            outer.rollback()

    # Schema and migrations

    def test_migrations_produce_exactly_the_orm_metadata(self, migrated_engine: Engine) -> None:
        # Execute
        with migrated_engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)

        # Assert
        assert diff == []

    def test_schema_is_at_the_head_revision(self, migrated_engine: Engine) -> None:
        # Execute
        with migrated_engine.connect() as connection:
            revision = current_revision(connection)

        # Assert
        assert revision == head_revision() == "reports_13"

    def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(
        self,
        store_factory: StoreFactory,
    ) -> None:
        # Prepare
        store = store_factory()
        with store.transaction() as session:
            connection = session.connection()

            # Execute
            downgrade_to(connection, "base")
            emptied = set(sa.inspect(connection).get_table_names())
            upgrade_to_head(connection)
            restored = set(sa.inspect(connection).get_table_names())

        # Assert
        assert emptied == {"alembic_version"}
        assert restored == set(Base.metadata.tables) | {"alembic_version"}

    def test_upgrading_a_store_with_audit_entries_makes_them_leaves_of_a_verifiable_tree(
        self, store_factory: StoreFactory
    ) -> None:
        # Prepare: three entries written under revision 0002 (hash chain only).
        store = store_factory()
        with store.transaction() as session:
            downgrade_to(session.connection(), "0002")
            previous = GENESIS_HASH
            for i in range(3):
                fields = {
                    "recorded_at": T0,
                    "actor_member_id": "bank-a",
                    "actor_role": "member",
                    "action": "subject_check",
                    "resource": f"query/{i}",
                    "decision": "allow",
                    "reason": "ok",
                    "correlation_id": f"c{i}",
                    "details": "{}",
                }
                hashed = {**fields, "recorded_at": T0.isoformat(timespec="microseconds"), "details": {}}
                entry_hash = compute_entry_hash(previous, hashed)
                session.execute(
                    sa.text(
                        f"INSERT INTO audit_log ({', '.join(OLD_COLUMNS)}) "
                        f"VALUES ({', '.join(':' + c for c in OLD_COLUMNS)})"
                    ),
                    {
                        **fields,
                        "recorded_at": T0.replace(tzinfo=None),
                        "prev_hash": previous,
                        "entry_hash": entry_hash,
                    },
                )
                previous = entry_hash

            # Execute
            upgrade_to_head(session.connection())

        # Assert
        entries = AuditLog(store).entries()
        assert [e.leaf_index for e in entries] == [0, 1, 2]
        verifier, publications = self._signed_log(store, 2)
        assert verify_audit_log(store, log=verifier, publications=publications).size == 5

    # Types and constraints

    def test_timestamps_round_trip_as_aware_utc(self, store: Store) -> None:
        # Prepare
        local = dt.datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
        with store.transaction() as session:
            session.add(new_borrower(created_at=local))

        # Execute
        with store.transaction() as session:
            session.expunge_all()
            stored = session.scalars(sa.select(Borrower.created_at)).one()

        # Assert
        assert stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)
        assert stored == dt.datetime(2024, 5, 1, 1, 30, 15, 123456, tzinfo=dt.UTC)

    def test_naive_timestamp_is_refused(self, store: Store) -> None:
        # Execute / Assert
        with pytest.raises(StoreError, match="naive"), store.transaction() as session:
            session.add(new_borrower(created_at=dt.datetime(2024, 5, 1, 9, 30)))
            session.flush()

    def test_money_round_trips_as_two_place_decimal(self, store: Store) -> None:
        # Prepare
        with store.transaction() as session:
            borrower = new_borrower()
            session.add(borrower)
            session.flush()
            session.add(new_account(borrower.id, outstanding="9999999999999.99"))

        # Execute
        with store.transaction() as session:
            session.expunge_all()
            outstanding = session.scalars(sa.select(Account.outstanding)).one()

        # Assert
        assert outstanding == Decimal("9999999999999.99")
        assert isinstance(outstanding, Decimal)

    def test_database_rejects_negative_outstanding(self, store: Store) -> None:
        # Prepare
        with store.transaction() as session:
            borrower = new_borrower()
            session.add(borrower)
            session.flush()
            borrower_id = borrower.id

        # Execute / Assert
        with (
            pytest.raises(StoreError, match=r"outstanding_non_negative|check constraint"),
            store.transaction() as session,
        ):
            session.add(new_account(borrower_id, outstanding="-1"))

    def test_database_enforces_foreign_keys(self, store: Store) -> None:
        # Execute / Assert
        with pytest.raises(StoreError, match=r"(?i)foreign key"), store.transaction() as session:
            session.add(new_account(borrower_id=424242))

    def test_store_error_does_not_echo_bound_values(self, store: Store) -> None:
        # Prepare
        with store.transaction() as session:
            session.add(new_borrower("B1"))

        # Execute
        with pytest.raises(StoreError) as caught, store.transaction() as session:
            session.add(new_borrower("B1"))

        # Assert
        assert "11010119900101001X" not in caught.value.message
        assert "13800000001" not in caught.value.message

    # Transactions

    def test_nested_transaction_reuses_the_outer_session(self, store: Store) -> None:
        # Execute
        with store.transaction() as outer, store.transaction() as inner:
            same = inner is outer

        # Assert
        assert same

    def test_error_in_nested_block_rolls_back_the_outer_transaction(self, store: Store) -> None:
        # Execute
        with pytest.raises(RuntimeError), store.transaction() as session:
            session.add(new_borrower("B1"))
            with store.transaction():
                raise RuntimeError("boom")

        # Assert
        with store.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Borrower)) == 0

    def test_connection_block_commits_or_rolls_back_what_its_nested_blocks_wrote(
        self, store_factory: StoreFactory
    ) -> None:
        # Prepare
        store = store_factory()
        log, state = AuditLog(store), ResponderState(store)

        # Execute: a round and its audit entry in one block, then a block that fails after both.
        with state.transaction():
            state.begin(b"a" * 32, 1, ["m1", "m2"], b"1" * 32, max_attempts=3, at=T0)
            append(log, 1)
            with store.transaction() as session:
                session.add(new_borrower("B1"))
        with pytest.raises(RuntimeError), state.transaction():
            state.begin(b"b" * 32, 1, ["m1", "m2"], b"1" * 32, max_attempts=3, at=T0)
            append(log, 1)
            with store.transaction() as session:
                session.add(new_borrower("B2"))
            raise RuntimeError("boom")

        # Assert
        with store.transaction() as session:
            borrowers = session.scalars(sa.select(Borrower.borrower_ref)).all()
        assert (borrowers, len(log.entries())) == (["B1"], 1)
        log.verify_chain()
        with pytest.raises(ProtocolRefused):
            state.begin(b"a" * 32, 1, ["m1", "m2"], b"1" * 32, max_attempts=3, at=T0)
        state.begin(b"b" * 32, 1, ["m1", "m2"], b"1" * 32, max_attempts=3, at=T0)

    def test_connection_inside_a_transaction_joins_it(self, store_factory: StoreFactory) -> None:
        # Prepare
        store = store_factory()
        log = AuditLog(store)

        # Execute
        with pytest.raises(RuntimeError), store.transaction() as session:
            session.add(new_borrower("B1"))
            append(log, 1)
            raise RuntimeError("boom")

        # Assert
        assert log.entries() == []

    # Audit log

    def test_appended_entries_form_a_verifiable_chain(self, store: Store) -> None:
        # Prepare
        log = AuditLog(store)

        # Execute
        append(log, 3)
        entries = log.entries()

        # Assert
        log.verify_chain()
        assert [e.seq for e in entries] == sorted(e.seq for e in entries)
        assert entries[0].prev_hash == GENESIS_HASH
        assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
        assert entries[2].details == {"n": 2, "token_prefix": "9f3a"}
        assert entries[0].recorded_at == T0

    def test_database_rejects_update_of_an_audit_entry(self, store: Store) -> None:
        # Prepare
        append(AuditLog(store), 1)

        # Execute / Assert
        with pytest.raises(StoreError, match="append-only"), store.transaction() as session:
            session.execute(sa.text("UPDATE audit_log SET reason = 'rewritten'"))

    def test_database_rejects_delete_of_an_audit_entry(self, store: Store) -> None:
        # Prepare
        append(AuditLog(store), 1)

        # Execute / Assert
        with pytest.raises(StoreError, match="append-only"), store.transaction() as session:
            session.execute(sa.text("DELETE FROM audit_log"))

    def test_altered_entry_is_detected_once_the_trigger_is_gone(self, store: Store) -> None:
        # Prepare
        log = AuditLog(store)
        append(log, 3)
        second = log.entries()[1].seq
        with store.transaction() as session:
            session.execute(sa.text(self.drop_update_trigger))
            session.execute(
                sa.text("UPDATE audit_log SET reason = 'rewritten' WHERE seq = :seq"), {"seq": second}
            )

        # Execute / Assert
        with pytest.raises(AuditChainError, match="entry_hash does not match") as caught:
            log.verify_chain()
        assert caught.value.seq == second

    def test_removed_entry_is_detected_once_the_trigger_is_gone(self, store: Store) -> None:
        # Prepare
        log = AuditLog(store)
        append(log, 3)
        second, third = (e.seq for e in log.entries()[1:])
        with store.transaction() as session:
            session.execute(sa.text(self.drop_delete_trigger))
            session.execute(sa.text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": second})

        # Execute / Assert
        with pytest.raises(AuditChainError, match="prev_hash does not match") as caught:
            log.verify_chain()
        assert caught.value.seq == third

    def test_a_lost_tail_is_detected_against_a_head_recorded_earlier(self, store: Store) -> None:
        # Prepare: the head was recorded (outside the store) after five entries; two were then lost.
        log = AuditLog(store)
        append(log, 5)
        recorded = log.head()
        fourth = log.entries()[3].seq
        with store.transaction() as session:
            session.execute(sa.text(self.drop_delete_trigger))
            session.execute(sa.text("DELETE FROM audit_log WHERE seq >= :seq"), {"seq": fourth})

        # Execute / Assert: the shorter chain still links up; only the recorded head shows the loss.
        log.verify_chain()
        assert recorded is not None
        with pytest.raises(AuditChainError, match="its tail was lost"):
            log.verify_chain(known_head=recorded)

    def test_the_recorded_head_passes_while_the_log_grows(self, store: Store) -> None:
        log = AuditLog(store)
        append(log, 2)
        recorded = log.head()
        append(log, 2)

        log.verify_chain(known_head=recorded)

    @pytest.mark.parametrize("value", ["11010119900101001X", "13800138000", "call 13800138000 now"])
    def test_audit_details_shaped_like_pii_are_refused(self, store: Store, value: str) -> None:
        # Execute / Assert
        with pytest.raises(InvalidInputError, match="details"):
            AuditLog(store).append(
                actor_member_id="bank-a",
                actor_role="member",
                action="a",
                resource="r",
                decision=AuditDecision.DENY,
                reason="x",
                correlation_id="c",
                details={"note": value},
                at=T0,
            )
        assert AuditLog(store).entries() == []

    def test_concurrent_appends_keep_a_single_chain(self, store_factory: StoreFactory) -> None:
        # Prepare
        store = store_factory()
        log = AuditLog(store)
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                append(log, 10)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]

        # Execute
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Assert
        assert errors == []
        assert len(log.entries()) == 40
        log.verify_chain()

    # Member directory

    def test_registration_then_heartbeat(self, store: Store) -> None:
        # Prepare
        directory = MemberDirectory(store)
        directory.upsert_registration(
            member_id="bank-a",
            role=Role.BANK,
            address="10.0.0.1:7443",
            cert_fingerprint=FINGERPRINT.upper(),
            cert_serial="01",
            software_version="0.1.0",
            protocol_version="v1",
            at=T0,
        )

        # Execute
        seen = directory.touch_heartbeat("bank-a", T0 + dt.timedelta(minutes=1), software_version="0.1.1")

        # Assert
        assert seen.last_seen_at == T0 + dt.timedelta(minutes=1)
        assert seen.software_version == "0.1.1"
        assert seen.cert_fingerprint == FINGERPRINT
        assert directory.get("bank-a") == seen

    def test_reregistration_replaces_address_and_certificate(self, store: Store) -> None:
        # Prepare
        directory = MemberDirectory(store)
        for serial, address in (("01", "10.0.0.1:7443"), ("02", "10.0.0.2:7443")):
            directory.upsert_registration(
                member_id="agency-x",
                role=Role.AGENCY,
                address=address,
                cert_fingerprint=FINGERPRINT,
                cert_serial=serial,
                software_version="0.1.0",
                protocol_version="v1",
                at=T0,
            )

        # Execute
        members = directory.list_members()

        # Assert
        assert [(m.member_id, m.address, m.cert_serial) for m in members] == [
            ("agency-x", "10.0.0.2:7443", "02")
        ]

    def test_heartbeat_of_unknown_member_is_not_found(self, store: Store) -> None:
        # Execute / Assert
        with pytest.raises(NotFoundError, match="ghost"):
            MemberDirectory(store).touch_heartbeat("ghost", T0)

    def test_list_members_filters_by_role(self, store: Store) -> None:
        # Prepare
        directory = MemberDirectory(store)
        for member_id, role in (("b", Role.BANK), ("a", Role.AGENCY), ("c", Role.BANK)):
            directory.upsert_registration(
                member_id=member_id,
                role=role,
                address="h:1",
                cert_fingerprint=FINGERPRINT,
                cert_serial="1",
                software_version="0.1.0",
                protocol_version="v1",
                at=T0,
            )

        # Execute
        lenders = directory.list_members(role=Role.BANK)

        # Assert
        assert [m.member_id for m in lenders] == ["b", "c"]

    # Importer on this backend

    def test_import_runs_on_this_backend(self, store: Store, tmp_path: Path) -> None:
        # Prepare
        data = tmp_path / "b.csv"
        data.write_text(
            "ref,rid,name,mobile,addr,prov\n"
            "B1,110101199001010015,张三,13800000001,北京市,北京\n"
            "B2,110101199001010010,李四,13800000002,北京市,北京\n",
            encoding="utf-8",
        )
        mapping = tmp_path / "b.toml"
        mapping.write_text(
            'kind = "borrowers"\n[columns]\nborrower_ref = "ref"\nresident_id = "rid"\n'
            'name = "name"\nmobile = "mobile"\naddress = "addr"\nprovince = "prov"\n',
            encoding="utf-8",
        )

        # Execute
        first = run_import(store, "borrowers", data, mapping)
        second = run_import(store, "borrowers", data, mapping)

        # Assert
        assert (first.rows_imported, first.rows_quarantined) == (1, 1)
        assert (second.rows_imported, second.rows_duplicate, second.quarantine_added) == (0, 1, 0)

    # Transparency log (issue #12): tampering with the store directly, triggers dropped

    def _signed_log(self, store: Store, count: int) -> tuple[NoteVerifier, list[Publication]]:
        """``count`` entries and the node's signed checkpoint of them."""
        append(AuditLog(store), count)
        key = Ed25519Key(bytes(range(32)))
        checkpoints = CheckpointStore(store, clock=lambda: T0)
        publisher = LogPublisher(
            store,
            SqlTree(AUDIT_LOG),
            origin=audit_origin("bank-a"),
            key=key,
            checkpoints=checkpoints,
            prepare=build_tree,
        )
        publisher.publish()
        verifier = NoteSigner(audit_origin("bank-a"), key).verifier
        return verifier, checkpoints.all(audit_origin("bank-a"))

    def _tamper(self, store: Store, *statements: str) -> None:
        with store.transaction() as session:
            session.execute(sa.text(self.drop_update_trigger))
            if self.drop_delete_trigger != self.drop_update_trigger:
                session.execute(sa.text(self.drop_delete_trigger))
            for statement in statements:
                session.execute(sa.text(statement))

    def test_untouched_transparency_log_verifies(self, store: Store) -> None:
        verifier, publications = self._signed_log(store, 5)

        result = verify_audit_log(store, log=verifier, publications=publications)

        assert (result.size, result.checkpoints, result.largest_checkpoint) == (5, 1, 5)

    def test_transparency_log_finds_an_edited_entry(self, store: Store) -> None:
        verifier, publications = self._signed_log(store, 5)
        self._tamper(store, "UPDATE audit_log SET reason = 'rewritten' WHERE leaf_index = 2")

        with pytest.raises(LogIntegrityError, match=r"\(leaf 2\) does not match") as caught:
            verify_audit_log(store, log=verifier, publications=publications)
        assert caught.value.index == 2

    def test_transparency_log_finds_a_deleted_entry(self, store: Store) -> None:
        verifier, publications = self._signed_log(store, 5)
        self._tamper(store, "DELETE FROM audit_log WHERE leaf_index = 2")

        with pytest.raises(LogIntegrityError, match="leaf 2 is missing") as caught:
            verify_audit_log(store, log=verifier, publications=publications)
        assert caught.value.index == 2

    def test_transparency_log_finds_reordered_entries(self, store: Store) -> None:
        verifier, publications = self._signed_log(store, 5)
        self._tamper(
            store,
            "UPDATE audit_log SET leaf_index = -1 WHERE leaf_index = 1",
            "UPDATE audit_log SET leaf_index = 1 WHERE leaf_index = 3",
            "UPDATE audit_log SET leaf_index = 3 WHERE leaf_index = -1",
        )

        with pytest.raises(LogIntegrityError, match="altered or moved") as caught:
            verify_audit_log(store, log=verifier, publications=publications)
        assert caught.value.index == 1

    def test_transparency_log_finds_a_lost_tail_against_the_signed_checkpoint(self, store: Store) -> None:
        verifier, publications = self._signed_log(store, 5)
        self._tamper(store, "DELETE FROM audit_log WHERE leaf_index >= 3", "DELETE FROM tlog_nodes")
        with store.transaction() as session:  # the tree of the three entries left, rebuilt
            rows = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.leaf_index)).all()
            SqlTree(AUDIT_LOG).append(
                session, [leaf_hash(audit_leaf_data(r.leaf_index, hashed_fields(r))) for r in rows]
            )

        with pytest.raises(LogIntegrityError, match="entries at the end were removed"):
            verify_audit_log(store, log=verifier, publications=publications)

    def test_transparency_log_finds_a_rebuilt_history_against_the_signed_checkpoint(
        self, store: Store
    ) -> None:
        verifier, publications = self._signed_log(store, 5)
        self._tamper(
            store, "UPDATE audit_log SET reason = 'rewritten' WHERE leaf_index = 1", "DELETE FROM tlog_nodes"
        )
        with store.transaction() as session:  # chain and tree rebuilt so that they agree with the edit
            rows = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.leaf_index)).all()
            previous = GENESIS_HASH
            for row in rows:
                row.prev_hash = previous
                row.entry_hash = previous = compute_entry_hash(previous, hashed_fields(row))
                row.leaf_hash = leaf_hash(audit_leaf_data(row.leaf_index, hashed_fields(row)))
            session.flush()
            SqlTree(AUDIT_LOG).append(
                session, [leaf_hash(audit_leaf_data(r.leaf_index, hashed_fields(r))) for r in rows]
            )

        verify_audit_log(store, log=verifier, publications=[])  # the store alone looks fine
        with pytest.raises(LogIntegrityError, match="history was rewritten"):
            verify_audit_log(store, log=verifier, publications=publications)

    # Subject-check state (the responder's rounds, the querier's seeds, the bureau's cache)

    def test_responder_rounds_refuse_whatever_breaks_the_contract(self, store: Store) -> None:
        state = ResponderState(store)
        request, full, fewer = b"r" * 32, ["a", "b", "c", "d"], ["a", "b", "c"]

        state.begin(request, 1, full, b"1" * 32, max_attempts=3, at=T0)
        refusals = [
            lambda: state.begin(request, 1, full, b"1" * 32, max_attempts=3, at=T0),
            lambda: state.begin(request, 2, full, b"1" * 32, max_attempts=3, at=T0),
            lambda: state.begin(request, 4, fewer, b"2" * 32, max_attempts=3, at=T0),
            lambda: state.finalize(request, 1, b"9" * 32),
        ]
        reasons = []
        for refused in refusals:
            with pytest.raises(ProtocolRefused) as caught:
                refused()
            reasons.append(caught.value.reason)
        state.begin(request, 2, fewer, b"2" * 32, max_attempts=3, at=T0)
        with pytest.raises(ProtocolRefused) as lower:
            state.finalize(request, 1, b"1" * 32)
        state.finalize(request, 2, b"2" * 32)
        state.finalize(request, 2, b"2" * 32)  # idempotent
        with pytest.raises(ProtocolRefused) as after:
            state.begin(request, 3, ["a", "b"], b"3" * 32, max_attempts=3, at=T0)

        assert reasons == [
            "attempt_replayed",
            "answering_set_not_shrinking",
            "attempt_out_of_range",
            "not_answered",
        ]
        assert (lower.value.reason, after.value.reason) == ("finalize_refused", "finalized")
        assert state.purge(T0 + dt.timedelta(seconds=1)) == 2

    def test_a_round_seed_is_kept_once_and_cached_rows_are_stored_once(self, store: Store) -> None:
        rounds, cache = CheckRounds(store), CheckCache(store)
        request, tag = b"q" * 32, b"t" * 32
        row = CachedRow(tag, b"\x01" * 16, 0, 1, request, 1, 4, 3, 4, "{}")
        info = RoundInfo(request, 1, T0.date(), ("a", "b", "c"), ())

        rounds.remember(request, b"first" * 6 + b"..", at=T0)
        rounds.remember(request, b"other" * 6 + b"..", at=T0)
        cache.store("bank-1", T0.date(), [row], info, at=T0)
        cache.store("bank-1", T0.date(), [replace(row, masked_row=b"\x02" * 16)], info, at=T0)

        assert rounds.seeds([request]) == {request: b"first" * 6 + b".."}
        assert cache.lookup("bank-1", T0.date(), [tag]) == {tag: row}
        assert cache.lookup("bank-2", T0.date(), [tag]) == {}
        assert set(cache.round_infos([request])) == {request}
