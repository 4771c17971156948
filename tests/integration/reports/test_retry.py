"""Issue #17 item 2: a report round that failed after members answered can still be produced.

A retry keeps its request identity (the regulator's signed order), so members that answered
re-serve the same share instead of refusing a "second" release; a member's refusal reaches
the regulator under its own status, never as INTERNAL; a member whose share could not be
computed is never charged; and a regulator whose first request failed is not locked out of
the month.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.errors import GatewayError

from ..subject_check.conftest import Consortium
from .conftest import PERIOD, Regulator, charges

pytestmark = pytest.mark.slow


@contextmanager
def members_key_missing(world: Consortium, member_id: str) -> Iterator[None]:
    """Take a member's members-only key away (as on a node provisioned without it), then restore it."""
    keys = world.settings[member_id].data_dir / "keys"
    held = keys.parent / "held-keys"
    moved = [p for p in keys.iterdir() if p.name.startswith("members")]
    held.mkdir(exist_ok=True)
    for path in moved:
        shutil.move(str(path), held / path.name)
    try:
        yield
    finally:
        for path in moved:
            shutil.move(str(held / path.name), path)


def test_round_failed_after_members_answered_is_produced_by_a_retry(
    consortium: Consortium, regulator: Regulator
) -> None:
    with members_key_missing(consortium, "bank-3"), pytest.raises(GatewayError) as failed:
        regulator.request("monthly-risk")
    assert failed.value.reason != "internal"

    report = regulator.request("monthly-risk")

    assert report.release.answering_members == 5 and not report.from_cache


def test_member_whose_share_fails_is_not_charged(consortium: Consortium, regulator: Regulator) -> None:
    with members_key_missing(consortium, "bank-3"), pytest.raises(GatewayError):
        regulator.request("monthly-risk")

    assert charges(consortium, "bank-3", "cbirc", PERIOD) == []


def test_regulator_whose_first_request_failed_is_not_locked_out(
    consortium: Consortium, regulator: Regulator
) -> None:
    with members_key_missing(consortium, "bank-3"), pytest.raises(GatewayError):
        regulator.request("monthly-risk")
    regulator.forget_pending_orders()  # a new request, not a retry of the failed one

    report = regulator.request("monthly-risk")

    assert report.release.answering_members == 5
    for member_id in consortium.members:
        spent = sum(c.rho for c in charges(consortium, member_id, "cbirc", PERIOD) if not c.refunded)
        assert spent == pytest.approx(report.release.rho), member_id


def test_member_refusing_a_second_release_reaches_the_regulator_as_already_exists(
    consortium: Consortium, regulator: Regulator
) -> None:
    regulator.request("monthly-risk")
    cache = consortium.bureau.settings.data_dir / "reports"
    for path in cache.glob("release-cache*"):
        path.unlink()  # the bureau lost its copy; members still remember the release
    regulator.forget_pending_orders()

    with pytest.raises(GatewayError) as refused:
        regulator.request("monthly-risk")

    assert refused.value.reason == "report_already_released", refused.value.message
    assert refused.value.message.startswith("bureau answered ALREADY_EXISTS"), refused.value.message
