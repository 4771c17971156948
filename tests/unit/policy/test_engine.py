from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.config import default_policies_dir
from gateway.errors import ConfigError, PolicyDenied
from gateway.identity.peer import Peer, Role
from gateway.policy import PolicyDecisionPoint


def peer(role: Role, member_id: str = "x-1") -> Peer:
    return Peer(member_id, role, 1, "00" * 32, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def pdp(role: Role, node_id: str = "node") -> PolicyDecisionPoint:
    return PolicyDecisionPoint.from_directory(default_policies_dir(), node_id=node_id, node_role=role)


@pytest.mark.parametrize("role", list(Role))
def test_every_certified_role_may_join_the_consortium(role: Role) -> None:
    decision = pdp(Role.BUREAU).decide(peer(role), "credgate.v1.BureauService/Register")

    assert decision.allowed
    assert decision.policy_ids == ("fabric.membership",)


@pytest.mark.parametrize(
    ("role", "allowed"), [(Role.BUREAU, True), (Role.BANK, False), (Role.REGULATOR, False)]
)
def test_only_the_bureau_sees_liveness(role: Role, allowed: bool) -> None:
    assert pdp(Role.BUREAU).decide(peer(role), "directory.read_liveness").allowed is allowed


@pytest.mark.parametrize(("role", "allowed"), [(Role.BUREAU, True), (Role.BANK, False), (Role.AGENCY, False)])
def test_only_the_bureau_may_fan_out_to_a_member(role: Role, allowed: bool) -> None:
    decision = pdp(Role.BANK).decide(peer(role), "credgate.v1.MemberService/ComputeSubjectVectors")

    assert decision.allowed is allowed


def test_a_member_node_is_no_directory() -> None:
    assert not pdp(Role.BANK).decide(peer(Role.BANK), "credgate.v1.BureauService/Register").allowed


def test_unknown_actions_are_denied_by_default() -> None:
    decision = pdp(Role.BUREAU).decide(peer(Role.BUREAU), "credgate.v1.BureauService/DropTables")

    assert not decision.allowed
    assert decision.reason == "no policy permits this"


def test_authorize_raises_naming_action_and_role() -> None:
    with pytest.raises(PolicyDenied, match="ComputeReportShare is not permitted for role regulator"):
        pdp(Role.BANK).authorize(peer(Role.REGULATOR), "credgate.v1.MemberService/ComputeReportShare")


def test_a_policy_that_does_not_validate_stops_the_node(tmp_path: Path) -> None:
    cedar = tmp_path / "cedar"
    cedar.mkdir()
    (cedar / "schema.cedarschema").write_text(
        (default_policies_dir() / "cedar" / "schema.cedarschema").read_text()
    )
    (cedar / "typo.cedar").write_text(
        'permit (principal, action, resource) when { principal.rol == "bank" };'
    )

    with pytest.raises(ConfigError, match="do not validate"):
        PolicyDecisionPoint.from_directory(tmp_path, node_id="n", node_role=Role.BANK)
