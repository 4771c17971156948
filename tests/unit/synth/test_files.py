from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from gateway.synth.schemas import KINDS

from .conftest import AS_OF, ReadCanonical, read_header_and_rows, read_mapping

MONTHLY = [f"{p}_m{i}" for p in ("repayment_status", "statement_balance", "amount_paid") for i in range(1, 7)]
REQUIRED = {
    "borrowers": ["borrower_ref", "resident_id", "name", "mobile", "address", "province"],
    "accounts": [
        "account_ref",
        "borrower_ref",
        "segment",
        "product",
        "credit_limit",
        "principal",
        "outstanding",
        "days_past_due",
        "status",
        "opened_on",
        *MONTHLY,
    ],
    "applications": [
        "application_ref",
        "borrower_ref",
        "applied_at",
        "segment",
        "amount_requested",
        "decision",
    ],
    "contacts": ["contact_ref", "account_ref", "attempted_at", "channel", "connected"],
    "blacklist": ["entry_ref", "borrower_ref", "reason", "evidence_ref", "listed_on"],
    "consents": ["consent_ref", "borrower_ref", "purpose", "counterparty_scope", "granted_on", "expires_on"],
}
REF_FIELD = {
    "borrowers": "borrower_ref",
    "accounts": "account_ref",
    "applications": "application_ref",
    "contacts": "contact_ref",
    "blacklist": "entry_ref",
    "consents": "consent_ref",
}
ENUMS = {
    ("accounts", "status"): {"active", "closed", "charged_off", "written_off"},
    ("accounts", "segment"): {"bank", "consumer_finance", "micro_loan", "credit_card", "other"},
    ("applications", "decision"): {"approved", "declined", "pending"},
    ("contacts", "channel"): {"phone", "sms", "ai_voice", "visit", "letter", "app_message"},
    ("contacts", "connected"): {"0", "1"},
    ("blacklist", "reason"): {"fraud", "identity_theft", "malicious_evasion", "court_dishonest_debtor"},
    ("blacklist", "appeal_state"): {"none", "pending", "upheld", "rejected"},
    ("borrowers", "gender"): {"male", "female"},
    ("borrowers", "education"): {"graduate", "university", "high_school", "other", "unknown"},
    ("borrowers", "marital_status"): {"married", "single", "other", "unknown"},
}


def test_every_member_folder_has_six_files_with_mappings(out_dir: Path, member_ids: list[str]) -> None:
    for member_id in member_ids:
        for kind in KINDS:
            assert (out_dir / member_id / f"{kind}.csv").is_file()
            assert (out_dir / member_id / f"{kind}.mapping.toml").is_file()


def test_mappings_name_only_header_columns_and_cover_every_required_field(
    out_dir: Path, member_ids: list[str]
) -> None:
    for member_id in member_ids:
        for kind in KINDS:
            mapping = read_mapping(out_dir / member_id, kind)
            header, _ = read_header_and_rows(out_dir / member_id / f"{kind}.csv")
            assert mapping["kind"] == kind
            assert mapping["timezone"] == "Asia/Shanghai"
            assert set(mapping["columns"].values()) == set(header)
            assert len(header) == len(set(header))
            missing = set(REQUIRED[kind]) - set(mapping["columns"])
            assert not missing, (member_id, kind, missing)


def test_column_names_are_member_specific(out_dir: Path, member_ids: list[str]) -> None:
    headers = {read_header_and_rows(out_dir / m / "borrowers.csv")[0][0] for m in member_ids}
    assert len(headers) >= 4
    for member_id in member_ids:
        columns = read_mapping(out_dir / member_id, "accounts")["columns"]
        assert any(field != column for field, column in columns.items())


def test_refs_are_unique_per_member_file(member_ids: list[str], read_canonical: ReadCanonical) -> None:
    for member_id in member_ids:
        for kind, field in REF_FIELD.items():
            refs = [row[field] for row in read_canonical(member_id, kind)]
            assert len(refs) == len(set(refs)), (member_id, kind)


def test_every_referenced_ref_exists_in_the_members_own_files(
    member_ids: list[str], read_canonical: ReadCanonical
) -> None:
    for member_id in member_ids:
        borrowers = {row["borrower_ref"] for row in read_canonical(member_id, "borrowers")}
        accounts = {row["account_ref"] for row in read_canonical(member_id, "accounts")}
        for kind in ("accounts", "applications", "blacklist", "consents"):
            assert {row["borrower_ref"] for row in read_canonical(member_id, kind)} <= borrowers
        assert {row["account_ref"] for row in read_canonical(member_id, "contacts")} <= accounts


def test_customer_numbers_differ_between_members_for_the_same_person(truth: dict[str, Any]) -> None:
    for person in truth["people"]:
        refs = [h["borrower_ref"] for h in person["holdings"]]
        assert len(refs) == len(set(refs))


def test_values_use_canonical_enums_dates_and_timestamps(
    manifest: dict[str, Any], member_ids: list[str], read_canonical: ReadCanonical
) -> None:
    as_of = dt.date.fromisoformat(manifest["as_of"])
    for member_id in member_ids:
        for (kind, field), allowed in ENUMS.items():
            values = {row.get(field, "") for row in read_canonical(member_id, kind)}
            assert values - {""} <= allowed, (member_id, kind, field)
        for row in read_canonical(member_id, "applications"):
            applied = dt.datetime.fromisoformat(row["applied_at"])
            assert applied.utcoffset() in (None, dt.timedelta(hours=8))
            assert 0 <= (as_of - applied.date()).days < 365
        for row in read_canonical(member_id, "contacts"):
            attempted = dt.datetime.fromisoformat(row["attempted_at"])
            assert attempted.date() <= as_of
        for row in read_canonical(member_id, "consents"):
            assert row["counterparty_scope"] == "consortium"
            assert dt.date.fromisoformat(row["granted_on"]) < dt.date.fromisoformat(row["expires_on"])
        for row in read_canonical(member_id, "blacklist"):
            assert row["evidence_ref"].startswith("EV-")


def test_agency_consents_are_for_collection_case_checks(
    manifest: dict[str, Any], read_canonical: ReadCanonical
) -> None:
    for member in manifest["members"]:
        purposes = {row["purpose"] for row in read_canonical(member["id"], "consents")}
        if member["role"] == "agency":
            assert purposes == {"collection_case_check"}
        else:
            assert "post_loan_management" in purposes and "loan_approval" in purposes


def test_agency_contacts_name_the_agency_and_lender_contacts_do_not(
    manifest: dict[str, Any], read_canonical: ReadCanonical
) -> None:
    for member in manifest["members"]:
        agencies = {row["agency_member_id"] for row in read_canonical(member["id"], "contacts")}
        assert agencies == ({member["id"]} if member["role"] == "agency" else {""})


def test_manifest_counts_match_the_files(manifest: dict[str, Any], read_canonical: ReadCanonical) -> None:
    assert manifest["dataset"]["sha256"] == "d6734686585e98e0a864f5c354cad13248d999074d54308b4233fd31da54b8a4"
    assert manifest["as_of"] == AS_OF.isoformat()
    for member in manifest["members"]:
        assert member["folder"] == member["id"]
        for kind in KINDS:
            assert manifest["counts"][member["id"]][kind] == len(read_canonical(member["id"], kind))


def test_truth_refs_exist_in_member_files(truth: dict[str, Any], read_canonical: ReadCanonical) -> None:
    assert truth["synthetic"] is True and "SYNTHETIC" in truth["WARNING"]
    for person in truth["people"]:
        for holding in person["holdings"]:
            borrowers = {r["borrower_ref"]: r for r in read_canonical(holding["member_id"], "borrowers")}
            accounts = {r["account_ref"]: r for r in read_canonical(holding["member_id"], "accounts")}
            assert borrowers[holding["borrower_ref"]]["resident_id"] == person["resident_id"]
            for ref in holding["account_refs"]:
                assert accounts[ref]["borrower_ref"] == holding["borrower_ref"]
