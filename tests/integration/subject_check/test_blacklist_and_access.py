"""Blacklist listings and appeals in later answers; tokens across members and epochs; subject access."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.clock import local_date, system_clock
from gateway.crypto.errors import DecryptionError
from gateway.crypto.keys import KeyPair
from gateway.ingest import run_import
from gateway.node.appeals import record_appeal
from gateway.node.runtime import oprf_key_folder
from gateway.node.session import member_session
from gateway.node.subject_access import relay_subject_access
from gateway.queries.inquiries.records import open_records
from gateway.queries.subject_check.answer import CheckStatus
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.enums import AppealState, ReasonCode, TokenType
from gateway.tokens.oprf.keyring import OPRFKeyRing

from .conftest import Consortium
from .test_rounds import _load, _subject_id, _write_book


def _list(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blacklist.csv").write_text(
        "entry_ref,borrower_ref,reason,evidence_ref,listed_on,expires_on\n" + "".join(f"{r}\n" for r in rows)
    )
    (folder / "blacklist.toml").write_text(
        'kind = "blacklist"\n[columns]\n'
        + "".join(
            f'{c} = "{c}"\n'
            for c in ("entry_ref", "borrower_ref", "reason", "evidence_ref", "listed_on", "expires_on")
        )
    )
    return folder


def _import_listings(world: Consortium, member_id: str, folder: Path) -> None:
    store = open_store(world.settings[member_id].store_url)
    try:
        run_import(store, "blacklist", folder / "blacklist.csv", folder / "blacklist.toml")
    finally:
        store.close()


def test_listings_count_until_an_appeal_is_upheld_and_never_after_expiry(
    consortium: Consortium, tmp_path: Path
) -> None:
    _load(
        consortium,
        "bank-1",
        _write_book(tmp_path / "q", with_account=False, consents=("loan_approval", "credit_review")),
    )
    _load(consortium, "bank-2", _write_book(tmp_path / "b2", with_account=True))
    _load(consortium, "bank-3", _write_book(tmp_path / "b3", with_account=False))
    today = local_date(system_clock())
    recent, long_ago, yesterday = (today - dt.timedelta(days=days) for days in (30, 2000, 1))
    _import_listings(consortium, "bank-2", _list(tmp_path / "l2", [f"X-B1,X-1,fraud,EV-1,{recent},"]))
    _import_listings(
        consortium, "bank-3", _list(tmp_path / "l3", [f"X-B2,X-1,identity_theft,EV-2,{long_ago},{yesterday}"])
    )
    with member_session(consortium.settings["bank-1"]) as session:
        listed = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )
        with member_session(consortium.settings["bank-2"]) as listing_member:
            record_appeal(listing_member, "X-B1", AppealState.UPHELD)
        # Same reason and day: without the invalidation the bureau would answer from its cache.
        appealed = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )

    assert listed.answer.blacklist == {
        "fraud": "1",
        "identity_theft": "0",
        "malicious_evasion": "0",
        "court_dishonest_debtor": "0",
    }
    assert appealed.answer.blacklist["fraud"] == "0"
    assert appealed.answer.status is CheckStatus.HIT


def test_tokens_agree_across_members_and_differ_across_key_epochs(
    consortium: Consortium, tmp_path: Path
) -> None:
    _load(consortium, "bank-1", _write_book(tmp_path / "q", with_account=False, consents=("loan_approval",)))
    _load(consortium, "bank-2", _write_book(tmp_path / "b2", with_account=True))
    tokens = {}
    for member_id in ("bank-1", "bank-2"):
        with member_session(consortium.settings[member_id]) as session:
            tokens[member_id] = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [_subject_id()])

    OPRFKeyRing.load(oprf_key_folder(consortium.bureau.settings)).rotate()
    with member_session(consortium.settings["bank-1"]) as session:
        rotated = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [_subject_id()])
        stale = session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )

    assert tokens["bank-1"] == tokens["bank-2"]
    assert rotated[0] == tokens["bank-1"][0] + 1 and rotated[1] != tokens["bank-1"][1]
    # Members have not tokenised under the new epoch yet: nobody matches the new token.
    assert stale.answer.status is CheckStatus.NO_MATCH


def test_a_subject_sees_who_queried_them_and_only_their_key_opens_it(
    consortium: Consortium, tmp_path: Path
) -> None:
    _load(consortium, "bank-1", _write_book(tmp_path / "q", with_account=False, consents=("loan_approval",)))
    with member_session(consortium.settings["bank-1"]) as session:
        session.subject_checks().check_one(
            SubjectRequest(_subject_id(), "X-C-loan_approval"), ReasonCode.LOAN_APPROVAL
        )
    subject = KeyPair.generate()

    with member_session(consortium.settings["cfc-1"]) as session:
        envelopes, coverage = relay_subject_access(
            session, _subject_id(), subject.public_key, "SUBJECT-REQ-1"
        )

    records = [
        r
        for box in envelopes
        for r in open_records(
            box, subject_private_key=subject.private_key, subject_public_key=subject.public_key
        )
    ]
    assert [(r.institution, r.reason) for r in records] == [("bank-1", "loan_approval")]
    assert records[0].date == system_clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    assert coverage.members_answered == len(envelopes) == 5
    assert len({len(box.ciphertext) for box in envelopes}) == 1  # padded: sizes say nothing
    stranger = KeyPair.generate()
    with pytest.raises(DecryptionError):
        open_records(
            envelopes[0], subject_private_key=stranger.private_key, subject_public_key=subject.public_key
        )
