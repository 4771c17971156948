"""Shared fixtures: a consortium CA and node provisioning in temporary folders.

Time: every date a test needs is derived from ``gateway.clock.system_clock`` (CI runs the
suite a second time with the system clock moved, see docs/testing.md), never a literal.
Load: deadlines that a test does not exercise are generous, so a busy machine cannot turn
a slow answer into a dropout (``policies_copy``); hypothesis has no per-example deadline.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from gateway.clock import system_clock
from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.node.runtime import RunningNode, start_bureau, start_member

ProvisionNode = Callable[..., Settings]
PolicyEdits = dict[str, list[tuple[str, str]]]
CopyPolicies = Callable[[PolicyEdits], Path]

# A loaded 2-core machine may take seconds per example; correctness, not speed, is under test.
hypothesis_settings.register_profile("credgate", deadline=None)
hypothesis_settings.load_profile("credgate")

# The shipped 5 s member deadline, raised for tests that are not about deadlines: under load a
# slow member would otherwise be dropped and the round re-run. Dropout tests stop a member,
# which fails its calls at once whatever the deadline.
GENEROUS_DEADLINE = ("member_deadline_seconds = 5.0", "member_deadline_seconds = 60.0")
# Witnesses co-sign every half second, so new keys become trusted quickly (docs/audit.md).
QUICK_CHECKPOINTS = ("checkpoint_seconds = 5.0", "checkpoint_seconds = 0.5")


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return provision_ca(tmp_path / "ca", now=system_clock())


@pytest.fixture
def policies_copy(tmp_path: Path) -> CopyPolicies:
    """Write the shipped policies, with generous deadlines and ``edits`` applied, to a new folder."""

    def copy(edits: PolicyEdits) -> Path:
        folder = tmp_path / "policies"
        shutil.copytree(default_policies_dir(), folder)
        generous: PolicyEdits = {
            "subject_check.toml": [GENEROUS_DEADLINE],
            "transparency.toml": [QUICK_CHECKPOINTS],
        }
        for name in generous.keys() | edits.keys():
            replacements = generous.get(name, []) + edits.get(name, [])
            path = folder / name
            text = path.read_text(encoding="utf-8")
            for old, new in replacements:
                assert old in text, f"{name} no longer holds {old!r}"
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")
        return folder

    return copy


@pytest.fixture
def policies_dir(policies_copy: CopyPolicies) -> Path:
    """The policies nodes start with; a test module overrides this to try other figures."""
    return policies_copy({})


@pytest.fixture
def provision(authority: CertificateAuthority, tmp_path: Path, policies_dir: Path) -> ProvisionNode:
    def make(
        member_id: str, role: Role, *, bureau_address: str | None = None, heartbeat_seconds: float = 0.2
    ) -> Settings:
        plan = NodePlan(member_id, role, tmp_path / "nodes" / member_id)
        plan.directory.mkdir(parents=True)
        return provision_node(
            authority,
            plan,
            bureau_address=bureau_address,
            heartbeat_seconds=heartbeat_seconds,
            now=system_clock(),
            policies_dir=policies_dir,
        )

    return make


@pytest.fixture
def bureau(provision: ProvisionNode) -> Iterator[RunningNode]:
    node = start_bureau(provision(BUREAU_ID, Role.BUREAU))
    yield node
    node.stop()


@pytest.fixture
def start_members(provision: ProvisionNode, bureau: RunningNode) -> Iterator[Callable[..., RunningNode]]:
    started: list[RunningNode] = []

    def start(member_id: str, role: Role = Role.BANK) -> RunningNode:
        node = start_member(provision(member_id, role, bureau_address=bureau.address))
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


_skipped_postgres: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI sets CREDGATE_REQUIRE_PG: there a skipped PostgreSQL test is a failure, not a pass.
    if os.environ.get("CREDGATE_REQUIRE_PG") and _skipped_postgres:
        print(f"\n{len(_skipped_postgres)} PostgreSQL tests were skipped but CREDGATE_REQUIRE_PG is set")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
