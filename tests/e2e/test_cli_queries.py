"""The command line against a running consortium: a member's tokenise, check, screen and subject
access, and a regulator's report request."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.demo.launch import launched_consortium
from gateway.reports.histograms import Period
from gateway.store import open_store
from gateway.store.enums import ReasonCode
from gateway.store.repositories.consents import valid_consents
from gateway.synth.members import Composition

pytestmark = [pytest.mark.processes, pytest.mark.slow]


def credgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_a_member_checks_screens_and_relays_subject_access_from_the_command_line(tmp_path: Path) -> None:
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    with launched_consortium(
        tmp_path / "c", people=300, seed=4, composition=composition, console=Console(file=io.StringIO())
    ) as (context, _):
        configs = {m: str(s.data_dir.parent / "node.toml") for m, s in context.member_settings.items()}
        # The members' secret ceremony, relayed by the bureau it is kept from.
        ceremony = credgate("members-secret", "create", "--config", configs["bank-1"])
        tokenised = [credgate("tokenise", "--config", config) for config in configs.values()]
        store = open_store(context.member_settings["bank-1"].store_url)
        consents = valid_consents(store, ReasonCode.POST_LOAN_MANAGEMENT, today=local_date(system_clock()))
        store.close()
        resident_id, consent = consents[0]
        single = credgate(
            "check",
            "--config",
            configs["bank-1"],
            "--reason",
            "post_loan_management",
            "--national-id",
            resident_id,
            "--consent-ref",
            consent,
            "--json",
        )
        batch = tmp_path / "book.csv"
        batch.write_text("national_id,consent_ref\n" + "".join(f"{r},{c}\n" for r, c in consents[:20]))
        screened = credgate(
            "check",
            "--config",
            configs["bank-1"],
            "--reason",
            "post_loan_management",
            "--batch",
            str(batch),
            "--out",
            str(tmp_path / "screen.csv"),
        )
        keygen = credgate("subject", "keygen", "--out", str(tmp_path / "me"))
        relayed = credgate(
            "subject",
            "inquiries",
            "--config",
            configs["cfc-1"],
            "--national-id",
            resident_id,
            "--subject-key",
            str(tmp_path / "me" / "subject.pub"),
            "--consent-ref",
            "REQ-1",
            "--out",
            str(tmp_path / "envelopes.json"),
        )
        opened = credgate(
            "subject", "open", "--key", str(tmp_path / "me" / "subject.key"), str(tmp_path / "envelopes.json")
        )
        regulator = (
            str(context.regulator_settings.data_dir.parent / "node.toml")
            if context.regulator_settings
            else ""
        )
        period = str(Period.containing(system_clock(), LOCAL_ZONE).before(1))
        report_args = (
            "report",
            "request",
            "--config",
            regulator,
            "--period",
            period,
            "--out",
            str(tmp_path / "r"),
        )
        reported, repeated = credgate(*report_args), credgate(*report_args)
        not_a_month = credgate("report", "request", "--config", regulator, "--period", "2026-13")
        refused = credgate(
            "check",
            "--config",
            configs["bank-1"],
            "--reason",
            "loan_approval",
            "--national-id",
            resident_id,
            "--consent-ref",
            "NO-SUCH-CONSENT",
        )

    assert ceremony.returncode == 0 and "delivered to 4 members" in ceremony.stdout, ceremony.stderr
    assert all(result.returncode == 0 for result in tokenised), [r.stderr for r in tokenised]
    assert single.returncode == 0, single.stderr
    assert json.loads(single.stdout)["consortium"]["status"] in {"hit", "no_match"}
    assert screened.returncode == 0, screened.stderr
    rows = list(csv.DictReader((tmp_path / "screen.csv").open()))
    assert len(rows) == 20 and resident_id not in (tmp_path / "screen.csv").read_text()
    assert keygen.returncode == relayed.returncode == opened.returncode == 0, relayed.stderr + opened.stderr
    assert "bank-1" in opened.stdout and "post_loan_management" in opened.stdout
    assert refused.returncode == 40 and "consent" in refused.stderr
    assert reported.returncode == 0, reported.stderr
    assert "a new release" in reported.stdout and "not re-noised" in repeated.stdout
    assert (tmp_path / "r" / f"monthly-risk-{period}.html").exists() and (
        tmp_path / "r" / f"monthly-risk-{period}.pdf"
    ).exists()
    assert not_a_month.returncode == 12 and "period" in not_a_month.stderr
