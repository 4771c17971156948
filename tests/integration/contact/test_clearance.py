"""Contact clearance end to end over mTLS: grants, caps across agencies, reservations, idempotency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from gateway.contact.client import Clearance
from gateway.errors import GatewayError, InvalidInputError
from gateway.rpc.convert.contact import clear_request_from_proto
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactParty
from gateway.store.repositories.contact_member import ClearanceLog

from .conftest import AGENCIES, LENDER, ContactWorld

PHONE = ContactChannel.PHONE


def call(
    world: ContactWorld, member: str, person: int, *, number: str | None = None, **kwargs: object
) -> Clearance:
    ref = world.ref(member, person)
    return world.client(member).clear(
        ref,
        channel=kwargs.pop("channel", PHONE),
        number=number or world.persons[person].mobile,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_granted_call_is_recorded_and_the_fourth_connected_call_from_a_second_agency_is_refused(
    contact_world: ContactWorld,
) -> None:
    first, second = AGENCIES
    outcomes = []
    for member in (first, first, LENDER):
        clearance = call(contact_world, member, 0)
        assert clearance.granted, clearance.decision
        outcomes.append(
            contact_world.client(member).record(clearance, connected=True, attempted_at=contact_world.clock())
        )

    fourth = call(contact_world, second, 0)

    assert all(o.recorded and not o.already_recorded for o in outcomes)
    assert fourth.decision is ClearanceDecision.CONNECTED_CAP
    assert fourth.answer.retry_after is not None and fourth.answer.retry_after > contact_world.clock()
    # A different debtor is unaffected.
    assert call(contact_world, second, 1).granted


def test_two_agencies_racing_for_the_last_slot_get_it_once(contact_world: ContactWorld) -> None:
    first, second = AGENCIES
    for _ in range(2):
        clearance = call(contact_world, first, 2)
        contact_world.client(first).record(clearance, connected=True, attempted_at=contact_world.clock())
    results: list[Clearance] = []
    barrier = threading.Barrier(8)

    def race(member: str) -> None:
        barrier.wait()
        results.append(call(contact_world, member, 2))

    threads = [threading.Thread(target=race, args=(m,)) for m in (first, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    granted = [r for r in results if r.granted]
    assert len(results) == 8 and len(granted) == 1
    assert {r.decision for r in results if not r.granted} == {ClearanceDecision.CONNECTED_CAP}


def test_an_open_slot_counts_until_it_expires_and_a_release_frees_it_at_once(
    contact_world: ContactWorld,
) -> None:
    first, second = AGENCIES
    held = [call(contact_world, first, 3) for _ in range(3)]
    assert all(h.granted for h in held)
    assert call(contact_world, second, 3).decision is ClearanceDecision.CONNECTED_CAP

    contact_world.client(first).release(held[0])
    freed = call(contact_world, second, 3)
    assert freed.granted
    contact_world.clock.advance(seconds=301)  # every reservation (300 s) has expired unused

    assert call(contact_world, second, 3).granted


def test_unanswered_attempts_are_capped_per_number(contact_world: ContactWorld) -> None:
    first, second = AGENCIES
    for member in (first, second) * 3:
        clearance = call(contact_world, member, 4)
        assert clearance.granted
        contact_world.client(member).record(clearance, connected=False, attempted_at=contact_world.clock())

    on_same_number = call(contact_world, first, 4)

    assert on_same_number.decision is ClearanceDecision.UNANSWERED_CAP


def test_a_retried_request_gets_the_same_reservation_and_counts_once(contact_world: ContactWorld) -> None:
    client = contact_world.client(AGENCIES[0])
    log = ClearanceLog(contact_world.sessions[AGENCIES[0]].store)
    first = call(contact_world, AGENCIES[0], 5)
    granted_before = log.counts(contact_world.day)[ClearanceDecision.GRANTED]
    # Re-send the very request the dialer sent (same idempotency key and tags), as after a lost answer.
    sent = contact_world.recorder.messages(method="ClearContact", direction="received")[-1]

    again = client._transport.clear(clear_request_from_proto(sent))

    assert again.reservation_id == first.answer.reservation_id and again.replayed
    assert client.record(first, connected=True, attempted_at=contact_world.clock()).recorded
    assert client.record(first, connected=True, attempted_at=contact_world.clock()).already_recorded
    with pytest.raises(GatewayError, match="already recorded as connected") as refused:
        client.settle(first.answer.reservation_id or b"", connected=False, released=False, attempted_at=None)
    assert refused.value.reason == "invalid_input"
    assert log.counts(contact_world.day)[ClearanceDecision.GRANTED] == granted_before


def test_a_key_reused_for_another_request_is_refused(contact_world: ContactWorld) -> None:
    call(contact_world, AGENCIES[0], 6)
    sent = clear_request_from_proto(
        contact_world.recorder.messages(method="ClearContact", direction="received")[-1]
    )
    altered = type(sent)(sent.idempotency_key, ContactChannel.SMS, sent.party, sent.tags, sent.grant)

    with pytest.raises(GatewayError, match="idempotency key was used for a different request"):
        contact_world.client(AGENCIES[0])._transport.clear(altered)


def test_an_outcome_after_expiry_is_counted_and_marked_late(contact_world: ContactWorld) -> None:
    clearance = call(contact_world, AGENCIES[0], 7)
    contact_world.clock.advance(seconds=400)

    answer = contact_world.client(AGENCIES[0]).record(
        clearance, connected=True, attempted_at=contact_world.clock()
    )

    assert answer.recorded and answer.late


@pytest.mark.parametrize(
    ("time", "decision"),
    [
        ((7, 59, 59), ClearanceDecision.QUIET_HOURS),
        ((8, 0, 0), ClearanceDecision.GRANTED),
        ((21, 59, 59), ClearanceDecision.GRANTED),
        ((22, 0, 0), ClearanceDecision.QUIET_HOURS),
    ],
)
def test_quiet_hours_at_their_boundaries(
    contact_world: ContactWorld, time: tuple[int, int, int], decision: ClearanceDecision
) -> None:
    contact_world.clock.set_local(contact_world.day, *time)

    clearance = call(contact_world, AGENCIES[0], 8)

    assert clearance.decision is decision
    if decision is ClearanceDecision.QUIET_HOURS:
        opening = clearance.answer.retry_after
        assert opening is not None
        assert opening.astimezone(dt.timezone(dt.timedelta(hours=8))).time() == dt.time(8)
    if time == (21, 59, 59):
        # A grant never runs into the quiet hours: it expires at 22:00 local.
        assert clearance.answer.expires_at == contact_world.clock() + dt.timedelta(seconds=1)


def test_a_letter_is_not_bound_by_the_quiet_hours_but_a_visit_is_and_needs_two_collectors(
    contact_world: ContactWorld,
) -> None:
    contact_world.clock.set_local(contact_world.day, 23)
    client = contact_world.client(LENDER)
    assert client.clear(contact_world.ref(LENDER, 9), channel=ContactChannel.LETTER).granted
    assert client.clear(
        contact_world.ref(LENDER, 9), channel=ContactChannel.VISIT, collectors=2
    ).decision is (ClearanceDecision.QUIET_HOURS)
    contact_world.clock.set_local(contact_world.day, 11)

    alone = client.clear(contact_world.ref(LENDER, 9), channel=ContactChannel.VISIT, collectors=1)
    pair = client.clear(contact_world.ref(LENDER, 9), channel=ContactChannel.VISIT, collectors=2)

    assert alone.decision is ClearanceDecision.VISIT_COLLECTORS and pair.granted


def test_a_third_party_only_once_the_debtor_is_unreachable_and_only_by_an_agency_allowed_to(
    contact_world: ContactWorld,
) -> None:
    allowed, not_allowed = AGENCIES
    relative = contact_world.persons[10].relative_mobile
    third = {"party": ContactParty.THIRD_PARTY, "number": relative}
    assert call(contact_world, allowed, 10, **third).decision is ClearanceDecision.THIRD_PARTY
    for _ in range(3):
        clearance = call(contact_world, allowed, 10)
        contact_world.client(allowed).record(clearance, connected=False, attempted_at=contact_world.clock())

    assert call(contact_world, not_allowed, 10, **third).decision is ClearanceDecision.NOT_ENTRUSTED
    assert call(contact_world, allowed, 10, **third).granted


def test_a_call_without_its_number_is_refused_before_anything_is_sent(contact_world: ContactWorld) -> None:
    with pytest.raises(InvalidInputError, match="number"):
        contact_world.client(LENDER).clear(contact_world.ref(LENDER, 0), channel=PHONE)
