"""A member's report ledger: every answered attempt charged, refunds only for what can never open."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.errors import ProtocolRefused, RateLimited
from gateway.identity.peer import Peer
from gateway.reports.budget import BudgetPolicy
from gateway.reports.errors import AlreadyReleasedError
from gateway.reports.ledger import PhaseRules, ReportLedger, ShareIdentity
from gateway.reports.order import ReportOrder, SignedOrder, VerifiedOrder
from gateway.roles import Role
from gateway.store import Store, open_store

NOW = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)
MEMBERS = ("agency-1", "bank-1", "bank-2", "bank-3", "cfc-1")
HOLDERS, COUNTS, DOMINANCE = 3, 1, 2


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'member.db'}")
    yield opened
    opened.close()


def _order(
    regulator: str = "cbirc", nonce: bytes = b"\x01" * 16, template: str = "monthly-risk"
) -> VerifiedOrder:
    order = ReportOrder(template, "2026-10", nonce)
    peer = Peer(regulator, Role.REGULATOR, 7, "ab" * 32, NOW + dt.timedelta(days=30))
    return VerifiedOrder(order, peer, SignedOrder(order, b"sig", b"cert"))


def _share(
    order: VerifiedOrder, phase: int, attempt: int, members: tuple[str, ...] = MEMBERS
) -> ShareIdentity:
    return ShareIdentity(
        order.request_hash(2), 2, phase, attempt, members, bytes([len(members)]) * 32, bytes([phase]) * 32
    )


def _ledger(store: Store, policy: BudgetPolicy) -> ReportLedger:
    return ReportLedger(store, policy, clock=lambda: NOW)


def _answer(
    ledger: ReportLedger,
    order: VerifiedOrder,
    phase: int,
    attempt: int,
    rho: float,
    members: tuple[str, ...] = MEMBERS,
) -> None:
    ledger.record(order, _share(order, phase, attempt, members), PhaseRules(3, rho), b"share")


def _open_phase(
    ledger: ReportLedger,
    order: VerifiedOrder,
    phase: int,
    attempt: int = 1,
    members: tuple[str, ...] = MEMBERS,
) -> None:
    _answer(ledger, order, phase, attempt, 0.0 if phase == HOLDERS else 0.014, members)
    ledger.open(order.request_hash(2), phase, attempt, bytes([len(members)]) * 32)


def test_every_answered_attempt_is_charged_and_only_the_unopened_ones_are_refunded(
    store: Store, budget_policy: BudgetPolicy
) -> None:
    ledger, order = _ledger(store, budget_policy), _order()
    _open_phase(ledger, order, HOLDERS)
    _answer(ledger, order, COUNTS, 1, 0.014)
    _answer(ledger, order, COUNTS, 2, 0.014, MEMBERS[:4])
    assert ledger.spent("2026-10", regulator="cbirc") == pytest.approx(0.028)

    ledger.open(order.request_hash(2), COUNTS, 2, bytes([4]) * 32)

    charges = ledger.charges(regulator="cbirc")
    assert [(c.attempt, c.refunded) for c in charges] == [(1, True), (2, False)]
    assert ledger.spent("2026-10", regulator="cbirc") == pytest.approx(0.014)


def test_retry_of_an_attempt_returns_the_stored_share_without_a_new_charge(
    store: Store, budget_policy: BudgetPolicy
) -> None:
    ledger, order = _ledger(store, budget_policy), _order()
    _open_phase(ledger, order, HOLDERS)
    _answer(ledger, order, COUNTS, 1, 0.014)
    stored = ledger.stored(order, _share(order, COUNTS, 1), PhaseRules(3, 0.014))
    assert stored is not None and stored.share == b"share"
    assert ledger.spent("2026-10") == pytest.approx(0.014)


@pytest.mark.parametrize(
    ("attempt", "members", "reason"),
    [
        (1, MEMBERS[:4], "attempt_replayed"),  # the same attempt over another set
        (2, MEMBERS, "answering_set_not_shrinking"),  # a re-run must leave someone out
        (4, MEMBERS[:4], "attempt_out_of_range"),  # past the template's cap
    ],
)
def test_the_bureau_cannot_reask_beyond_the_rules(
    store: Store, budget_policy: BudgetPolicy, attempt: int, members: tuple[str, ...], reason: str
) -> None:
    ledger, order = _ledger(store, budget_policy), _order()
    _open_phase(ledger, order, HOLDERS)
    _answer(ledger, order, COUNTS, 1, 0.014)
    with pytest.raises(ProtocolRefused) as refused:
        _answer(ledger, order, COUNTS, attempt, 0.014, members)
    assert refused.value.reason == reason
    assert ledger.spent("2026-10") == pytest.approx(0.014)


def test_a_phase_is_opened_once_and_answered_no_more(store: Store, budget_policy: BudgetPolicy) -> None:
    ledger, order = _ledger(store, budget_policy), _order()
    _open_phase(ledger, order, HOLDERS)
    _answer(ledger, order, COUNTS, 1, 0.014)
    _answer(ledger, order, COUNTS, 2, 0.014, MEMBERS[:4])
    with pytest.raises(ProtocolRefused, match="last attempt"):
        ledger.open(order.request_hash(2), COUNTS, 1, bytes([5]) * 32)
    ledger.open(order.request_hash(2), COUNTS, 2, bytes([4]) * 32)
    ledger.open(order.request_hash(2), COUNTS, 2, bytes([4]) * 32)  # idempotent
    with pytest.raises(ProtocolRefused) as refused:
        _answer(ledger, order, COUNTS, 3, 0.014, MEMBERS[:3])
    assert refused.value.reason == "finalized"


def test_phases_come_in_order(store: Store, budget_policy: BudgetPolicy) -> None:
    ledger, order = _ledger(store, budget_policy), _order()
    with pytest.raises(ProtocolRefused) as refused:
        _answer(ledger, order, COUNTS, 1, 0.014)
    assert refused.value.reason == "phase_out_of_order"
    _open_phase(ledger, order, HOLDERS, members=MEMBERS[:4])
    with pytest.raises(ProtocolRefused) as outside:
        _answer(ledger, order, COUNTS, 1, 0.014, MEMBERS)  # a member the holders count did not have
    assert outside.value.reason == "answering_set_not_shrinking"


def test_a_released_report_is_never_released_again_and_an_unopened_one_is_replaced(
    store: Store, budget_policy: BudgetPolicy
) -> None:
    ledger = _ledger(store, budget_policy)
    failed, retried = _order(nonce=b"\x01" * 16), _order(nonce=b"\x02" * 16)
    _open_phase(ledger, failed, HOLDERS)
    _answer(ledger, failed, COUNTS, 1, 0.014)  # the round failed before anything was opened

    _open_phase(ledger, retried, HOLDERS)  # a new request for the same report closes the old one
    _open_phase(ledger, retried, COUNTS)

    assert [c.refunded for c in ledger.charges(regulator="cbirc")] == [True, False]
    with pytest.raises(ProtocolRefused, match="replaced"):
        _answer(ledger, failed, COUNTS, 2, 0.014, MEMBERS[:4])
    with pytest.raises(AlreadyReleasedError):
        _answer(ledger, _order(nonce=b"\x03" * 16), HOLDERS, 1, 0.0)


def test_budgets_per_regulator_and_per_member_over_all_regulators(
    store: Store, budget_policy: BudgetPolicy
) -> None:
    policy = budget_policy.model_copy(
        update={"rho_per_regulator_period": 0.03, "rho_per_member_period": 0.05}
    )
    ledger = _ledger(store, policy)
    for nonce, template in ((b"\x01", "a"), (b"\x02", "b")):
        order = _order(nonce=nonce * 16, template=template)
        _open_phase(ledger, order, HOLDERS)
        _answer(ledger, order, COUNTS, 1, 0.014)
    third = _order(nonce=b"\x03" * 16, template="c")
    _open_phase(ledger, third, HOLDERS)
    with pytest.raises(RateLimited, match="regulator cbirc") as caught:
        _answer(ledger, third, COUNTS, 1, 0.014)
    assert caught.value.reason == "privacy_budget_exhausted"
    other = _order(regulator="pboc", nonce=b"\x04" * 16)
    _open_phase(ledger, other, HOLDERS)
    _answer(ledger, other, COUNTS, 1, 0.014)
    late = _order(regulator="samr", nonce=b"\x05" * 16)
    _open_phase(ledger, late, HOLDERS)
    with pytest.raises(RateLimited, match="all regulators together"):
        _answer(ledger, late, COUNTS, 1, 0.014)
    assert ledger.spent("2026-10") == pytest.approx(0.042)
