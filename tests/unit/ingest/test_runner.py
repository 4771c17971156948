"""run_import: counts, idempotency, formats, mappings, unreadable files, progress."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.errors import ConfigError, ImportFileError, InvalidInputError
from gateway.ingest import ImportKind, ImportProgress, run_import
from gateway.store import Store
from gateway.store.enums import RECORD_KINDS
from gateway.store.models import (
    Account,
    Application,
    BlacklistEntry,
    Borrower,
    ContactAttempt,
    RepaymentMonth,
)
from gateway.store.repositories import CreditRecords, ImportLedger

from .conftest import ImportRows
from .samples import (
    account,
    application,
    blacklist,
    borrower,
    contact,
    identity_mapping,
    write_csv,
    write_mapping,
    write_parquet,
)

BORROWER_FIELDS = list(borrower(1).keys())


def _table_counts(store: Store) -> dict[str, int]:
    records = CreditRecords(store)
    counts = {kind.value: records.count(kind) for kind in RECORD_KINDS}
    counts["repayment_history"] = records.count_repayment_months()
    counts["quarantine"] = len(ImportLedger(store).quarantined())
    counts["batches"] = len(ImportLedger(store).batches())
    return counts


def test_mixed_file_counts_add_up_and_match_the_tables(import_rows: ImportRows, store: Store) -> None:
    # Prepare
    bad = borrower(3) | {"mobile": "12345"}
    rows = [borrower(1), borrower(2), bad, borrower(1), borrower(4)]

    # Execute
    summary = import_rows("borrowers", rows)

    # Assert
    assert (summary.rows_read, summary.rows_imported, summary.rows_quarantined, summary.rows_duplicate) == (
        5,
        3,
        1,
        1,
    )
    assert summary.rows_read == summary.rows_imported + summary.rows_quarantined + summary.rows_duplicate
    batch = ImportLedger(store).batch(summary.batch_id)
    assert (batch.rows_read, batch.rows_imported, batch.rows_quarantined, batch.rows_duplicate) == (
        5,
        3,
        1,
        1,
    )
    assert batch.finished_at is not None
    assert CreditRecords(store).count(ImportKind.BORROWERS) == 3


def test_reimporting_the_same_file_adds_nothing(store: Store, tmp_path: Path) -> None:
    # Prepare
    rows = [borrower(1), borrower(2) | {"resident_id": "123"}, borrower(3)]
    data = write_csv(tmp_path / "b.csv", rows)
    mapping = identity_mapping(tmp_path / "b.toml", "borrowers", BORROWER_FIELDS)
    first = run_import(store, "borrowers", data, mapping)
    before = _table_counts(store)

    # Execute
    second = run_import(store, "borrowers", data, mapping)

    # Assert
    assert (first.rows_imported, first.rows_quarantined, first.quarantine_added) == (2, 1, 1)
    assert (second.rows_read, second.rows_imported, second.rows_quarantined, second.rows_duplicate) == (
        3,
        0,
        1,
        2,
    )
    assert second.quarantine_added == 0
    after = _table_counts(store)
    assert after == before | {"batches": before["batches"] + 1}


def test_stored_values_are_normalised_and_typed(import_rows: ImportRows, store: Store) -> None:
    # Prepare
    legacy_15 = "110101900101001"
    row = borrower(1) | {"resident_id": legacy_15, "mobile": "+86 138-0000-0001", "gender": "FEMALE"}

    # Execute
    import_rows("borrowers", [row])
    import_rows("accounts", [account(1)])

    # Assert
    with store.transaction() as session:
        stored = session.scalars(sa.select(Borrower)).one()
        stored_account = session.scalars(sa.select(Account)).one()
        months = session.scalars(sa.select(RepaymentMonth).order_by(RepaymentMonth.months_ago)).all()
    assert len(stored.resident_id) == 18 and stored.resident_id.startswith("11010119900101001")
    assert stored.mobile == "13800000001"
    assert stored.gender == "female"
    assert stored_account.outstanding == Decimal("3913.00")
    assert stored_account.defaulted is True
    assert [(m.months_ago, m.repayment_status, m.statement_balance, m.amount_paid) for m in months] == [
        (1, 2, Decimal("3913.00"), Decimal("0.00")),
        (2, 2, Decimal("-3102.50"), Decimal("689.00")),
    ]


@pytest.mark.parametrize(("timezone", "expected_utc_hour"), [(None, 2), ("UTC", 10), ("Asia/Tokyo", 1)])
def test_naive_timestamps_are_read_in_the_mapping_timezone(
    store: Store,
    tmp_path: Path,
    import_rows: ImportRows,
    timezone: str | None,
    expected_utc_hour: int,
) -> None:
    # Prepare
    import_rows("borrowers", [borrower(1)])
    import_rows("accounts", [account(1)])
    row = contact(1)
    data = write_csv(tmp_path / "c.csv", [row])
    mapping = identity_mapping(tmp_path / "c.toml", "contacts", list(row), timezone=timezone)

    # Execute
    run_import(store, "contacts", data, mapping)

    # Assert
    with store.transaction() as session:
        attempted_at = session.scalars(sa.select(ContactAttempt.attempted_at)).one()
    assert attempted_at == dt.datetime(2024, 5, 1, expected_utc_hour, 0, tzinfo=dt.UTC)


def test_timestamp_with_offset_keeps_its_instant(import_rows: ImportRows, store: Store) -> None:
    # Prepare
    import_rows("borrowers", [borrower(1)])

    # Execute
    import_rows("applications", [application(1)])

    # Assert
    with store.transaction() as session:
        applied_at = session.scalars(sa.select(Application.applied_at)).one()
    assert applied_at == dt.datetime(2024, 5, 1, 1, 30, tzinfo=dt.UTC)


def test_blacklist_expiry_defaults_to_the_retention_policy(
    import_rows: ImportRows,
    store: Store,
    tmp_path: Path,
) -> None:
    # Prepare
    import_rows("borrowers", [borrower(1)])
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "retention.toml").write_text("[blacklist]\nlisting_years = 3\n", encoding="utf-8")

    # Execute
    import_rows("blacklist", [blacklist(1)])
    import_rows("blacklist", [blacklist(2) | {"listed_on": "2024-02-29"}], policies_dir=policies)

    # Assert
    with store.transaction() as session:
        entries = session.execute(
            sa.select(BlacklistEntry.entry_ref, BlacklistEntry.expires_on, BlacklistEntry.appeal_state)
        ).all()
    assert sorted(entries) == [("L1", dt.date(2029, 3, 1), "none"), ("L2", dt.date(2027, 2, 28), "none")]


def test_broken_retention_policy_is_a_config_error(import_rows: ImportRows, tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "retention.toml").write_text("[blacklist]\nlisting_years = 0\n", encoding="utf-8")

    # Execute / Assert
    with pytest.raises(ConfigError, match="listing_years"):
        import_rows("borrowers", [borrower(1)], policies_dir=tmp_path)


def test_csv_with_bom_and_renamed_columns_imports(store: Store, tmp_path: Path) -> None:
    # Prepare
    renamed = {field: f"col_{field}" for field in BORROWER_FIELDS}
    rows = [{renamed[k]: v for k, v in borrower(i).items()} for i in (1, 2)]
    data = write_csv(tmp_path / "b.csv", rows, encoding="utf-8-sig")
    mapping = write_mapping(tmp_path / "b.toml", "borrowers", renamed)

    # Execute
    summary = run_import(store, "borrowers", data, mapping)

    # Assert
    assert summary.rows_imported == 2


def test_defaults_fill_unmapped_fields(store: Store, tmp_path: Path, import_rows: ImportRows) -> None:
    # Prepare
    import_rows("borrowers", [borrower(1)])
    row = {k: v for k, v in account(1).items() if k not in ("segment", "product")}
    data = write_csv(tmp_path / "a.csv", [row])
    mapping = write_mapping(
        tmp_path / "a.toml",
        "accounts",
        {k: k for k in row},
        defaults={"segment": "micro_loan", "product": "cash loan"},
    )

    # Execute
    run_import(store, "accounts", data, mapping)

    # Assert
    with store.transaction() as session:
        stored = session.execute(sa.select(Account.segment, Account.product)).one()
    assert tuple(stored) == ("micro_loan", "cash loan")


def test_parquet_imports_like_csv(store: Store, tmp_path: Path, import_rows: ImportRows) -> None:
    # Prepare
    import_rows("borrowers", [borrower(1)])
    rows = [
        {
            "account_ref": f"A{i}",
            "borrower_ref": "B1",
            "segment": "bank",
            "product": "loan",
            "credit_limit": 1000.5,
            "principal": 900,
            "outstanding": 800.25,
            "days_past_due": 0,
            "status": "active",
            "opened_on": dt.date(2024, 1, 2),
            "defaulted": False,
        }
        for i in (1, 2)
    ]
    rows.append(rows[0] | {"account_ref": "A3", "outstanding": -1.0})
    data = write_parquet(tmp_path / "a.parquet", rows)
    mapping = identity_mapping(tmp_path / "a.toml", "accounts", list(rows[0]))

    # Execute
    summary = run_import(store, "accounts", data, mapping)

    # Assert
    assert (summary.rows_read, summary.rows_imported, summary.rows_quarantined) == (3, 2, 1)
    with store.transaction() as session:
        limits = session.scalars(sa.select(Account.credit_limit)).all()
    assert limits == [Decimal("1000.50"), Decimal("1000.50")]
    [record] = ImportLedger(store).quarantined(file_sha256=summary.file_sha256)
    assert (record.row_number, record.field) == (3, "outstanding")


def test_row_with_wrong_column_count_is_quarantined(store: Store, tmp_path: Path) -> None:
    # Prepare
    data = write_csv(tmp_path / "b.csv", [borrower(1)])
    with data.open("a", encoding="utf-8") as handle:
        handle.write("B2,only,three\n")
    mapping = identity_mapping(tmp_path / "b.toml", "borrowers", BORROWER_FIELDS)

    # Execute
    summary = run_import(store, "borrowers", data, mapping)

    # Assert
    assert (summary.rows_imported, summary.rows_quarantined) == (1, 1)
    [record] = ImportLedger(store).quarantined()
    assert (record.field, record.reason) == ("row", "row: expected 9 columns, found 3")


def test_progress_is_reported_after_each_chunk(store: Store, tmp_path: Path) -> None:
    # Prepare
    data = write_csv(tmp_path / "b.csv", [borrower(i) for i in range(1, 6)])
    mapping = identity_mapping(tmp_path / "b.toml", "borrowers", BORROWER_FIELDS)
    seen: list[ImportProgress] = []

    # Execute
    run_import(store, "borrowers", data, mapping, on_progress=seen.append, chunk_rows=2)

    # Assert
    assert [(p.rows_done, p.rows_total) for p in seen] == [(2, 5), (4, 5), (5, 5)]


def _unreadable(tmp_path: Path, case: str) -> tuple[Path, str]:
    good = write_csv(tmp_path / "good.csv", [borrower(1)])
    if case == "missing":
        return tmp_path / "absent.csv", "no such file"
    if case == "extension":
        return Path(shutil.copy(good, tmp_path / "b.txt")), "expected a .csv or .parquet file"
    if case == "encoding":
        path = tmp_path / "gbk.csv"
        path.write_bytes(good.read_bytes().replace("张三".encode(), "张三".encode("gbk")))
        return path, "line 2 is not valid UTF-8"
    if case == "parquet":
        return Path(shutil.copy(good, tmp_path / "fake.parquet")), "not a readable Parquet file"
    if case == "empty":
        path = tmp_path / "empty.csv"
        path.write_bytes(b"")
        return path, "must be a header"
    if case == "repeated-column":
        path = tmp_path / "repeat.csv"
        path.write_text("borrower_ref,name,name\nB1,x,y\n", encoding="utf-8")
        return path, "'name' appear more than once"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "extension", "encoding", "parquet", "empty", "repeated-column"])
def test_unreadable_file_is_an_error_naming_it_and_changes_nothing(
    store: Store,
    tmp_path: Path,
    case: str,
) -> None:
    # Prepare
    path, message = _unreadable(tmp_path, case)
    mapping = identity_mapping(tmp_path / "b.toml", "borrowers", BORROWER_FIELDS)
    before = _table_counts(store)

    # Execute
    with pytest.raises(ImportFileError) as caught:
        run_import(store, "borrowers", path, mapping)

    # Assert
    assert str(path) in caught.value.message
    assert message in caught.value.message
    assert _table_counts(store) == before


MAPPING_CASES = {
    "unknown-field": ({"columns": [*BORROWER_FIELDS, "nickname"]}, ["'nickname'", "unknown field"]),
    "missing-required": (
        {"columns": [f for f in BORROWER_FIELDS if f != "mobile"]},
        ["required field 'mobile'"],
    ),
    "absent-column": ({"rename": {"name": "full_name"}}, ["field 'name'", "column 'full_name'", "good.csv"]),
    "wrong-kind": ({"kind": "accounts"}, ["kind = 'accounts'"]),
    "bad-timezone": ({"timezone": "Mars/Base"}, ["unknown timezone 'Mars/Base'"]),
    "not-toml": ({"raw": "kind = \n"}, ["not valid UTF-8 TOML"]),
}


@pytest.mark.parametrize("case", list(MAPPING_CASES))
def test_bad_mapping_is_an_error_naming_mapping_field_and_column(
    store: Store,
    tmp_path: Path,
    case: str,
) -> None:
    # Prepare
    change, fragments = MAPPING_CASES[case]
    data = write_csv(tmp_path / "good.csv", [borrower(1)])
    columns = {f: f for f in change.get("columns", BORROWER_FIELDS)}
    columns |= change.get("rename", {})
    mapping = write_mapping(
        tmp_path / "m.toml", change.get("kind", "borrowers"), columns, timezone=change.get("timezone")
    )
    if "raw" in change:
        mapping.write_text(change["raw"], encoding="utf-8")
    before = _table_counts(store)

    # Execute
    with pytest.raises(ImportFileError) as caught:
        run_import(store, "borrowers", data, mapping)

    # Assert
    assert str(mapping) in caught.value.message
    for fragment in fragments:
        assert fragment in caught.value.message
    assert _table_counts(store) == before


def test_partly_mapped_repayment_month_is_a_mapping_error(store: Store, tmp_path: Path) -> None:
    # Prepare
    row = {k: v for k, v in account(1).items() if k != "amount_paid_m2"}
    data = write_csv(tmp_path / "a.csv", [row])
    mapping = identity_mapping(tmp_path / "a.toml", "accounts", list(row))

    # Execute / Assert
    with pytest.raises(ImportFileError, match=r"month 2 .* also map amount_paid_m2"):
        run_import(store, "accounts", data, mapping)


def test_unknown_kind_is_invalid_input(store: Store, tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(InvalidInputError, match="kind: expected one of borrowers"):
        run_import(store, "loans", tmp_path / "x.csv", tmp_path / "x.toml")
