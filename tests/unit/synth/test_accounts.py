from __future__ import annotations

from typing import Any

from gateway.synth import ConsortiumResult
from gateway.synth.uci import UCIDataset

from .conftest import ReadCanonical

ROLE_SEGMENTS = {
    "bank": {"bank", "credit_card"},
    "consumer_finance": {"consumer_finance"},
    "micro_lender": {"micro_loan"},
}


def account_uci_ids(truth: dict[str, Any]) -> dict[tuple[str, str], int]:
    """(member_id, account_ref) -> UCI row id, from the ground truth."""
    return {
        (h["member_id"], ref): uci
        for person in truth["people"]
        for h in person["holdings"]
        for ref, uci in zip(h["account_refs"], h["uci_ids"], strict=True)
    }


def test_every_account_row_is_the_real_uci_row(
    manifest: dict[str, Any], truth: dict[str, Any], read_canonical: ReadCanonical, dataset: UCIDataset
) -> None:
    rows = {row.row_id: row for row in dataset.rows}
    uci_of = account_uci_ids(truth)
    checked = 0
    for member in manifest["members"]:
        for account in read_canonical(member["id"], "accounts"):
            row = rows[uci_of[(member["id"], account["account_ref"])]]
            assert int(account["credit_limit"]) == row.limit_bal
            assert int(account["defaulted"]) == row.defaulted
            for month in range(6):
                assert int(account[f"repayment_status_m{month + 1}"]) == row.pay[month]
                assert int(account[f"statement_balance_m{month + 1}"]) == row.bill[month]
                assert int(account[f"amount_paid_m{month + 1}"]) == row.paid[month]
            assert int(account["days_past_due"]) == max(row.pay[0], 0) * 30
            assert int(account["outstanding"]) == max(row.bill[0], 0)
            assert int(account["principal"]) >= int(account["outstanding"])
            checked += 1
    assert checked > 2000


def test_lender_accounts_use_each_uci_row_at_most_once(consortium: ConsortiumResult) -> None:
    lender_rows = [a.row.row_id for a in consortium.accounts if a.entrusted_by is None]
    assert len(lender_rows) == len(set(lender_rows))


def test_every_agency_account_is_entrusted_by_a_lender_until_after_the_reference_date(
    manifest: dict[str, Any], read_canonical: ReadCanonical
) -> None:
    roles = {m["id"]: m["role"] for m in manifest["members"]}
    agencies = [member_id for member_id, role in roles.items() if role == "agency"]
    total = 0
    for agency in agencies:
        for account in read_canonical(agency, "accounts"):
            assert roles[account["entrusted_by"]] != "agency"
            assert account["entrustment_expires_on"] > manifest["as_of"]
            assert int(account["days_past_due"]) >= 60
            total += 1
    assert total > 0


def test_lender_accounts_have_no_entrustment_and_segments_match_roles(
    manifest: dict[str, Any], read_canonical: ReadCanonical
) -> None:
    for member in manifest["members"]:
        if member["role"] == "agency":
            continue
        for account in read_canonical(member["id"], "accounts"):
            assert account.get("entrusted_by", "") == ""
            assert account["segment"] in ROLE_SEGMENTS[member["role"]]


def test_statuses_are_consistent_with_the_data(consortium: ConsortiumResult) -> None:
    statuses = [a.status for a in consortium.accounts if a.entrusted_by is None]
    assert statuses.count("active") > 0.9 * len(statuses)
    assert 0 < statuses.count("closed") < 0.1 * len(statuses)
    assert 0 < statuses.count("charged_off") < 0.1 * len(statuses)
    for account in consortium.accounts:
        if account.status == "charged_off":
            assert account.row.defaulted == 1 and account.days_past_due >= 90
        if account.status == "closed":
            assert account.outstanding == 0 and account.closed_on is not None
            assert account.opened_on < account.closed_on <= consortium.options.as_of


def test_multi_lender_borrowing_is_a_minority_and_more_common_among_defaulters(
    truth: dict[str, Any], manifest: dict[str, Any]
) -> None:
    roles = {m["id"]: m["role"] for m in manifest["members"]}

    def lenders(person: dict[str, Any]) -> int:
        return sum(1 for h in person["holdings"] if roles[h["member_id"]] != "agency" and h["account_refs"])

    def share(people: list[dict[str, Any]]) -> float:
        return sum(1 for p in people if lenders(p) > 1) / len(people)

    everyone = truth["people"]
    defaulted = [p for p in everyone if p["uci_default"] == 1]
    others = [p for p in everyone if p["uci_default"] == 0]
    assert all(lenders(p) >= 1 for p in everyone)
    assert 0.05 < share(everyone) < 0.5
    assert share(defaulted) > 1.5 * share(others)


def test_accounts_open_at_least_six_months_before_the_reference_date_and_after_adulthood(
    consortium: ConsortiumResult,
) -> None:
    as_of = consortium.options.as_of
    for account in consortium.accounts:
        person = consortium.people[account.person_index]
        assert (as_of - account.opened_on).days >= 183
        assert account.opened_on.year - person.birth_date.year >= 18
