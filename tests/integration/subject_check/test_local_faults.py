"""The querier's own faults are reported as its own (#17 items 6 and 7).

* A full disk under the querier's store failed the check as the bureau's
  ``UNKNOWN: Exception iterating requests!`` (exit 1); it is a ``StoreError`` (exit 21).
* After the store lost the seed of an earlier round today, the same-day re-check (answered
  from the bureau's cache) crashed with ``KeyError``; it is a ``StoreError`` naming the cause.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from faults.disks import fill, small_tmpfs

from gateway.cli.exit_codes import ExitCode, exit_code_for
from gateway.errors import StoreError
from gateway.node.session import member_session
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.models import CheckRound

from .conftest import Consortium


def anyone(_person: dict[str, object]) -> bool:
    return True


def test_a_full_disk_under_the_queriers_store_is_a_local_store_error(
    consortium: Consortium, tmp_path: Path
) -> None:
    person, consent, reason = consortium.consented_person("bank-1", anyone)
    settings = consortium.settings["bank-1"]
    with small_tmpfs(tmp_path / "small", size="64m") as disk:
        # The querier's store, copied consistently (SQLite backup) onto a disk of its own.
        copy = disk / "store.db"
        source = sqlite3.connect(settings.store_url.removeprefix("sqlite:///"))
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        own_disk = dataclasses.replace(settings, store_url=f"sqlite:///{copy}")
        with member_session(own_disk) as session:
            client = session.subject_checks()
            fill(disk)
            with pytest.raises(StoreError) as failed:
                client.check_one(SubjectRequest(person["resident_id"], consent), reason)

    assert "disk is full" in failed.value.message
    assert "bureau" not in failed.value.message
    assert exit_code_for(failed.value) == ExitCode.STORE_FAILED


def test_a_same_day_recheck_after_the_round_seed_was_lost_says_so(consortium: Consortium) -> None:
    person, consent, reason = consortium.consented_person("bank-2", anyone)
    subject = SubjectRequest(person["resident_id"], consent)
    with member_session(consortium.settings["bank-2"]) as session:
        session.subject_checks().check_one(subject, reason)
    store = open_store(consortium.settings["bank-2"].store_url)
    try:
        with store.transaction() as db:  # what a lost disk tail or an older backup leaves behind
            db.execute(sa.delete(CheckRound))
    finally:
        store.close()

    with member_session(consortium.settings["bank-2"]) as session, pytest.raises(StoreError) as failed:
        session.subject_checks().check_one(subject, reason)

    assert failed.value.reason == "round_seed_lost"
    assert "no longer holds the seed" in failed.value.message
