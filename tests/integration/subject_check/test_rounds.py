"""Dropped members, coverage and the curious lender."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from gateway.clock import local_date, system_clock
from gateway.identifiers import resident_id_check_char
from gateway.ingest import run_import
from gateway.node.book_tokens import tokenise_book
from gateway.node.session import member_session
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.enums import ReasonCode, TokenType
from gateway.store.models import Borrower, SubjectTokenRecord

from .conftest import Consortium, expected_answer


def multi_lender(person: dict[str, object]) -> bool:
    holdings = person["holdings"]
    assert isinstance(holdings, list)
    return len({h["member_id"] for h in holdings if h["account_refs"]}) >= 3


def test_a_member_dropping_mid_round_leaves_a_correct_sum_over_the_survivors(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    consortium.members["cfc-1"].server.stop(0)  # still heartbeating, so the bureau asks it and times out

    with member_session(consortium.settings["bank-1"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        epoch, (token,) = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [person["resident_id"]])

    coverage = outcome.answer.coverage
    assert (coverage.members_asked, coverage.members_answered, coverage.attempts) == (4, 3, 2)
    assert outcome.answer == expected_answer(
        consortium, "bank-1", token, epoch, coverage, excluded=("cfc-1",)
    )


def test_fewer_than_three_answering_members_is_insufficient_coverage(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-1", multi_lender)
    for member_id in ("cfc-1", "agency-1"):
        consortium.members[member_id].server.stop(0)

    with member_session(consortium.settings["bank-1"]) as session:
        outcome = session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)

    assert outcome.answer.status is CheckStatus.INSUFFICIENT_COVERAGE
    assert outcome.answer.coverage.members_answered == 2
    assert outcome.answer.lenders_by_outstanding == {}


TODAY = local_date(system_clock())
OPENED, GRANTED, EXPIRES = (TODAY + dt.timedelta(days=d) for d in (-180, -30, 365))
NEW_ID = "110105199003070" + "01"  # first 17 digits completed below


def _subject_id() -> str:
    return NEW_ID + resident_id_check_char(NEW_ID)


def _write_book(folder: Path, *, with_account: bool, consents: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "borrowers.csv").write_text(
        "borrower_ref,resident_id,name,mobile,address,province\n"
        f"X-1,{_subject_id()},王小明,13912345678,北京市东城区东四路1号,北京市\n"
    )
    (folder / "borrowers.toml").write_text(
        'kind = "borrowers"\n[columns]\n'
        + "".join(
            f'{c} = "{c}"\n' for c in ("borrower_ref", "resident_id", "name", "mobile", "address", "province")
        )
    )
    if with_account:
        (folder / "accounts.csv").write_text(
            "account_ref,borrower_ref,segment,product,credit_limit,principal,outstanding,days_past_due,status,opened_on\n"
            f"X-L1,X-1,consumer_finance,cash loan,50000,40000,32000,45,active,{OPENED}\n"
        )
        (folder / "accounts.toml").write_text(
            'kind = "accounts"\n[columns]\n'
            + "".join(
                f'{c} = "{c}"\n'
                for c in (
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
                )
            )
        )
    if consents:
        (folder / "consents.csv").write_text(
            "consent_ref,borrower_ref,purpose,counterparty_scope,granted_on,expires_on\n"
            + "".join(f"X-C-{purpose},X-1,{purpose},consortium,{GRANTED},{EXPIRES}\n" for purpose in consents)
        )
        (folder / "consents.toml").write_text(
            'kind = "consents"\n[columns]\n'
            + "".join(
                f'{c} = "{c}"\n'
                for c in (
                    "consent_ref",
                    "borrower_ref",
                    "purpose",
                    "counterparty_scope",
                    "granted_on",
                    "expires_on",
                )
            )
        )
    return folder


def _load(world: Consortium, member_id: str, folder: Path) -> None:
    store = open_store(world.settings[member_id].store_url)
    try:
        for kind in ("borrowers", "accounts", "consents"):
            if (folder / f"{kind}.csv").exists():
                summary = run_import(store, kind, folder / f"{kind}.csv", folder / f"{kind}.toml")
                assert summary.rows_imported == summary.rows_read, summary
    finally:
        store.close()
    with member_session(world.settings[member_id]) as session:
        tokenise_book(session.store, session.tokeniser, now=system_clock())


def _forget(world: Consortium, member_id: str) -> None:
    """The member no longer holds the subject (its token no longer matches)."""
    store = open_store(world.settings[member_id].store_url)
    try:
        with store.transaction() as session:
            borrower = session.scalars(
                sa.select(Borrower.id).where(Borrower.resident_id == _subject_id())
            ).one()
            session.execute(sa.delete(SubjectTokenRecord).where(SubjectTokenRecord.borrower_id == borrower))
    finally:
        store.close()


def test_a_lender_gets_the_same_answer_whichever_member_holds_the_debt(
    consortium: Consortium, tmp_path: Path
) -> None:
    _load(
        consortium,
        "bank-1",
        _write_book(tmp_path / "querier", with_account=False, consents=("loan_approval", "credit_review")),
    )
    _load(consortium, "bank-2", _write_book(tmp_path / "holder-a", with_account=True))
    with member_session(consortium.settings["bank-1"]) as session:
        held_by_bank_2 = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )
    _forget(consortium, "bank-2")
    _load(consortium, "bank-3", _write_book(tmp_path / "holder-b", with_account=True))

    with member_session(consortium.settings["bank-1"]) as session:
        held_by_bank_3 = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-credit_review"), ReasonCode.CREDIT_REVIEW
        )

    assert held_by_bank_2.answer.status is CheckStatus.HIT
    assert held_by_bank_2.answer.lenders_by_outstanding["20k-50k"] == "1"
    assert held_by_bank_2.answer.lenders_by_days_past_due["31-60"] == "1"
    assert held_by_bank_3.answer == held_by_bank_2.answer
