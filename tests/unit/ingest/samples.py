"""Builders for import test files: valid sample rows per kind, CSV/Parquet and mapping writers."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gateway.identifiers import resident_id_check_char


def resident_id(seq: int, birth: str = "19900101") -> str:
    first17 = f"110101{birth}{seq:03d}"
    return first17 + resident_id_check_char(first17)


def mobile(seq: int) -> str:
    return f"138{seq:08d}"


def borrower(seq: int = 1) -> dict[str, str]:
    return {
        "borrower_ref": f"B{seq}",
        "resident_id": resident_id(seq),
        "name": "张三",
        "mobile": mobile(seq),
        "address": "北京市东城区东华门街道1号",
        "province": "北京",
        "gender": "male",
        "education": "university",
        "marital_status": "single",
    }


def account(seq: int = 1, borrower_seq: int = 1) -> dict[str, str]:
    return {
        "account_ref": f"A{seq}",
        "borrower_ref": f"B{borrower_seq}",
        "segment": "credit_card",
        "product": "standard card",
        "credit_limit": "20000",
        "principal": "0",
        "outstanding": "3913.00",
        "days_past_due": "60",
        "status": "active",
        "opened_on": "2023-01-15",
        "closed_on": "",
        "defaulted": "1",
        "entrusted_by": "",
        "entrustment_expires_on": "",
        "repayment_status_m1": "2",
        "statement_balance_m1": "3913",
        "amount_paid_m1": "0",
        "repayment_status_m2": "2",
        "statement_balance_m2": "-3102.5",
        "amount_paid_m2": "689",
    }


def application(seq: int = 1) -> dict[str, str]:
    return {
        "application_ref": f"P{seq}",
        "borrower_ref": "B1",
        "applied_at": "2024-05-01T09:30:00+08:00",
        "segment": "bank",
        "amount_requested": "50000",
        "decision": "approved",
    }


def contact(seq: int = 1) -> dict[str, str]:
    return {
        "contact_ref": f"C{seq}",
        "account_ref": "A1",
        "attempted_at": "2024-05-01 10:00:00",
        "channel": "phone",
        "contact_number": mobile(1),
        "connected": "true",
        "agency_member_id": "agency-1",
        "outcome": "promised to pay",
    }


def blacklist(seq: int = 1) -> dict[str, str]:
    return {
        "entry_ref": f"L{seq}",
        "borrower_ref": "B1",
        "reason": "fraud",
        "evidence_ref": "case-2024-001",
        "listed_on": "2024-03-01",
        "expires_on": "",
        "appeal_state": "",
    }


def consent(seq: int = 1) -> dict[str, str]:
    return {
        "consent_ref": f"K{seq}",
        "borrower_ref": "B1",
        "purpose": "loan_approval",
        "counterparty_scope": "consortium",
        "granted_on": "2024-01-01",
        "expires_on": "2025-01-01",
        "revoked_on": "",
    }


SAMPLES = {
    "borrowers": borrower,
    "accounts": account,
    "applications": application,
    "contacts": contact,
    "blacklist": blacklist,
    "consents": consent,
}


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    *,
    encoding: str = "utf-8",
    header: Sequence[str] | None = None,
) -> Path:
    columns = list(header if header is not None else rows[0].keys())
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path


def write_parquet(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    columns = list(rows[0].keys())
    table = pa.table({column: [row[column] for row in rows] for column in columns})
    pq.write_table(table, path)
    return path


def write_mapping(
    path: Path,
    kind: str,
    columns: Mapping[str, str],
    *,
    defaults: Mapping[str, str] | None = None,
    timezone: str | None = None,
) -> Path:
    lines = [f'kind = "{kind}"']
    if timezone is not None:
        lines.append(f'timezone = "{timezone}"')
    lines.append("[columns]")
    lines += [f'{field} = "{column}"' for field, column in columns.items()]
    if defaults:
        lines.append("[defaults]")
        lines += [f'{field} = "{value}"' for field, value in defaults.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def identity_mapping(path: Path, kind: str, fields: Sequence[str], **kwargs: object) -> Path:
    return write_mapping(path, kind, {field: field for field in fields}, **kwargs)  # type: ignore[arg-type]
