"""Regression: `credgate doctor` used a heartbeat to read the bureau's clock, which overwrote the
member's reported software version and blacklist contribution (0), so reciprocity then barred it
from searching."""

from __future__ import annotations

from collections.abc import Callable

from gateway.clock import system_clock
from gateway.node.doctor import Severity, diagnose
from gateway.node.runtime import RunningNode
from gateway.store.repositories.members import MemberDirectory


def test_doctor_leaves_the_members_directory_entry_alone(
    bureau: RunningNode, start_members: Callable[..., RunningNode]
) -> None:
    bank = start_members("bank-1")
    assert bank.link is not None and bank.link.registered.wait(10)
    before = MemberDirectory(bureau.store).get("bank-1")

    findings = list(diagnose(bank.settings.data_dir.parent / "node.toml", now=system_clock))

    after = MemberDirectory(bureau.store).get("bank-1")
    assert all(f.severity is not Severity.FAIL for f in findings)
    assert (after.software_version, after.blacklist_listings) == (
        before.software_version,
        before.blacklist_listings,
    )
    assert after.software_version != "doctor"
