"""``credgate contact`` and ``credgate complaints`` on a real bureau (in-process, mTLS, system clock).

Quiet hours are switched off for the phone in this module's policies, so the test passes at any
hour; the rules themselves are tested with an injected clock elsewhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from contact_book import load_book, people
from members_ceremony import hand_out_members_secret
from typer.testing import CliRunner

from gateway.cli.app import app
from gateway.clock import local_date, system_clock
from gateway.config import Settings
from gateway.identity.peer import Role
from gateway.node.book_tokens import tokenise_book
from gateway.node.runtime import RunningNode
from gateway.node.session import member_session

QUIET_CHANNELS = 'quiet_hours_channels = ["phone", "sms", "ai_voice", "visit", "app_message"]'


@pytest.fixture
def policies_dir(policies_copy: Callable[[dict[str, list[tuple[str, str]]]], Path]) -> Path:
    return policies_copy({"contact_rules.toml": [(QUIET_CHANNELS, 'quiet_hours_channels = ["visit"]')]})


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_entrust_grant_clear_record_flag_and_complain_from_the_command_line(
    provision: Callable[..., Settings], bureau: RunningNode, tmp_path: Path
) -> None:
    lender = provision("bank-1", Role.BANK, bureau_address=bureau.address)
    agency = provision("agency-1", Role.AGENCY, bureau_address=bureau.address)
    hand_out_members_secret([lender, agency])
    persons = people(3, seed=8)
    today = local_date(system_clock())
    for settings, entrusted in ((lender, None), (agency, "bank-1")):
        with member_session(settings) as session:
            load_book(
                session.store,
                settings.member_id,
                persons,
                now=system_clock(),
                entrusted_by=entrusted,
                entrustment_expires_on=today + dt.timedelta(days=30) if entrusted else None,
            )
            tokenise_book(session.store, session.tokeniser, now=system_clock())
    bank, firm = (str(s.data_dir.parent / "node.toml") for s in (lender, agency))
    until = (today + dt.timedelta(days=30)).isoformat()
    grants = str(tmp_path / "grants.json")
    steps = [
        run("contact", "entrust", "--config", bank, "--agency", "agency-1", "--until", until,
            *[x for p in persons for x in ("--account-ref", p.account_ref("bank-1"))]),
        run("contact", "grants", "--config", bank, "--agency", "agency-1", "--days", "2", "--out", grants),
        run("contact", "import-grants", "--config", firm, grants),
    ]  # fmt: skip
    assert [code for code, _ in steps] == [0, 0, 0], steps
    assert "6 grants" in steps[1][1] and "6 grants verified" in steps[2][1]

    code, granted = run(
        "contact", "clear", "--config", firm, "--account-ref", persons[0].account_ref("agency-1"),
        "--channel", "phone", "--number", persons[0].mobile,
    )  # fmt: skip
    assert code == 0 and "granted" in granted, granted
    reservation = re.search(r"reservation ([0-9a-f]{32})", granted)
    assert reservation is not None
    code, recorded = run(
        "contact", "record", "--config", firm, "--reservation", reservation[1], "--connected"
    )
    assert code == 0 and "connected" in recorded

    flagged = run(
        "contact", "flag", "set", "--config", bank, "--ref", "F-1", "--kind", "dispute",
        "--account-ref", persons[1].account_ref("bank-1"), "--provenance", "debtor letter", "--until", until,
    )  # fmt: skip
    refused = run(
        "contact", "clear", "--config", firm, "--account-ref", persons[1].account_ref("agency-1"),
        "--channel", "phone", "--number", persons[1].mobile,
    )  # fmt: skip
    listed = run("contact", "flag", "list", "--config", bank)
    assert flagged[0] == 0 and "stops bank-1's collection" in flagged[1]
    assert refused == (90, refused[1]) and "refused: dispute_or_do_not_contact" in refused[1]
    assert "F-1" in listed[1] and "debtor letter" in listed[1]

    filed = run(
        "complaints", "file", "--config", firm, "--ref", "AG-1", "--channel", "phone",
        "--category", "attitude_or_excessive", "--grade", "serious", "--summary", "一天内多次来电并辱骂",
        "--account-ref", persons[0].account_ref("agency-1"), "--lender", "bank-1", "--linked-ref", "B1-9",
    )  # fmt: skip
    responded = run("complaints", "respond", "--config", firm, "--ref", "AG-1", "--note", "已致歉")
    closed = run(
        "complaints",
        "close",
        "--config",
        firm,
        "--ref",
        "AG-1",
        "--outcome",
        "upheld",
        "--note",
        "更换催收员",
    )
    listing = run("complaints", "list", "--config", firm)
    assert filed[0] == 0 and "escalated to compliance_officer" in filed[1]
    assert responded[0] == 0 and closed[0] == 0 and "SLA met" in closed[1]
    assert "AG-1" in listing[1] and "upheld" in listing[1]
