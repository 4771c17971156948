"""Shared fixtures: a consortium CA and node provisioning in temporary folders."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.config import Settings, default_policies_dir
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.node.runtime import RunningNode, start_bureau, start_member

NOW = dt.datetime.now(dt.UTC)
ProvisionNode = Callable[..., Settings]


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return provision_ca(tmp_path / "ca", now=NOW)


@pytest.fixture
def policies_dir() -> Path:
    """The policies nodes start with; a test module overrides this to try other figures."""
    return default_policies_dir()


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
            now=NOW,
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
