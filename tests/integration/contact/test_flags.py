"""Flags stop contact across the consortium without the bureau naming who set them, fail closed
when a member's flags for the day are missing, and a day's counters stay under one epoch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

from gateway.contact.flags import set_flag
from gateway.contact.messages import ClearanceRequest
from gateway.rpc.convert.contact import answer_to_proto
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactFlagKind, ContactParty
from gateway.store.repositories.contact_member import ContactFlags

from .conftest import AGENCIES, LENDER, OTHER_LENDER, ContactWorld
from .test_entrustment import tags_for

PHONE = ContactChannel.PHONE


def flag(world: ContactWorld, member: str, kind: ContactFlagKind, ref: str, **target: str) -> None:
    session = world.sessions[member]
    set_flag(
        session.store,
        session.identity.own,
        flag_ref=ref,
        kind=kind,
        rules=session.contact_rules,
        account_ref=target.get("account_ref"),
        number=target.get("number"),
        provenance="debtor's letter of 1 March",
        expires_on=world.day + dt.timedelta(days=10),
        agency=target.get("agency"),
        now=world.clock(),
    )
    session.flag_publisher().publish(world.day)


def phone(world: ContactWorld, member: str, person: int) -> ClearanceDecision:
    return (
        world.client(member)
        .clear(world.ref(member, person), channel=PHONE, number=world.persons[person].mobile)
        .decision
    )


def test_a_dispute_at_the_lender_stops_its_agencies_but_not_another_lender(
    contact_world: ContactWorld,
) -> None:
    flag(contact_world, LENDER, ContactFlagKind.DISPUTE, "d-1", account_ref=contact_world.ref(LENDER, 0))

    assert phone(contact_world, AGENCIES[0], 0) is ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT
    assert phone(contact_world, LENDER, 0) is ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT
    assert phone(contact_world, OTHER_LENDER, 0) is ClearanceDecision.GRANTED


def test_a_death_recorded_by_another_lender_stops_everyone_without_naming_it(
    contact_world: ContactWorld,
) -> None:
    flag(
        contact_world,
        OTHER_LENDER,
        ContactFlagKind.DECEASED,
        "x-1",
        account_ref=contact_world.ref(OTHER_LENDER, 1),
    )

    clearance = contact_world.client(AGENCIES[1]).clear(
        contact_world.ref(AGENCIES[1], 1), channel=PHONE, number=contact_world.persons[1].mobile
    )
    wire = answer_to_proto(clearance.answer).SerializeToString()

    assert clearance.decision is ClearanceDecision.DECEASED
    assert OTHER_LENDER.encode() not in wire and b"x-1" not in wire


def test_lifting_a_flag_lets_contact_resume(contact_world: ContactWorld) -> None:
    flag(
        contact_world, LENDER, ContactFlagKind.DO_NOT_CONTACT, "n-1", account_ref=contact_world.ref(LENDER, 2)
    )
    assert phone(contact_world, AGENCIES[0], 2) is ClearanceDecision.DISPUTE_OR_DO_NOT_CONTACT

    ContactFlags(contact_world.sessions[LENDER].store).lift("n-1", at=contact_world.clock())
    contact_world.sessions[LENDER].flag_publisher().publish(contact_world.day)

    assert phone(contact_world, AGENCIES[0], 2) is ClearanceDecision.GRANTED


def test_a_third_party_who_asked_to_be_left_alone_is_not_called_again(contact_world: ContactWorld) -> None:
    agency = AGENCIES[0]
    relative = contact_world.persons[3].relative_mobile
    for _ in range(3):
        clearance = contact_world.client(agency).clear(
            contact_world.ref(agency, 3), channel=PHONE, number=contact_world.persons[3].mobile
        )
        contact_world.client(agency).record(clearance, connected=False, attempted_at=contact_world.clock())
    flag(contact_world, agency, ContactFlagKind.THIRD_PARTY_REFUSED, "t-1", number=relative)

    refused = contact_world.client(agency).clear(
        contact_world.ref(agency, 3), channel=PHONE, number=relative, party=ContactParty.THIRD_PARTY
    )

    assert refused.decision is ClearanceDecision.THIRD_PARTY


def test_an_ended_entrustment_stops_that_agency_only(contact_world: ContactWorld) -> None:
    flag(
        contact_world,
        LENDER,
        ContactFlagKind.ENTRUSTMENT_ENDED,
        "e-1",
        account_ref=contact_world.ref(LENDER, 4),
        agency=AGENCIES[1],
    )

    assert phone(contact_world, AGENCIES[1], 4) is ClearanceDecision.NOT_ENTRUSTED
    assert phone(contact_world, AGENCIES[0], 4) is ClearanceDecision.GRANTED


def test_published_batches_are_padded_to_a_power_of_two_per_kind_and_sorted(
    contact_world: ContactWorld,
) -> None:
    batch = contact_world.sessions[LENDER].flag_publisher().batch(contact_world.day)
    tags = [f.tag for f in batch]
    per_kind: dict[ContactFlagKind, int] = {}
    for f in batch:
        per_kind[f.kind] = per_kind.get(f.kind, 0) + 1

    assert tags == sorted(tags)
    assert all(count >= 8 and count & (count - 1) == 0 for count in per_kind.values()), per_kind


def test_a_day_whose_flags_a_member_has_not_published_is_refused_until_it_does(
    contact_world: ContactWorld,
) -> None:
    # bank-2 published flags for today (the deceased test or here); tomorrow nothing is cleared
    # until it publishes tomorrow's.
    contact_world.sessions[OTHER_LENDER].flag_publisher().publish(contact_world.day)
    contact_world.clock.set_local(contact_world.day + dt.timedelta(days=1), 10)
    for member in (LENDER,):
        contact_world.sessions[member].flag_publisher().publish(contact_world.day + dt.timedelta(days=1))
    for member in AGENCIES:
        contact_world.sessions[member].flag_publisher().publish(contact_world.day + dt.timedelta(days=1))

    before = phone(contact_world, AGENCIES[0], 5)
    contact_world.sessions[OTHER_LENDER].flag_publisher().publish(contact_world.day + dt.timedelta(days=1))
    after = phone(contact_world, AGENCIES[0], 5)

    assert before is ClearanceDecision.FLAGS_UNAVAILABLE
    assert after is ClearanceDecision.GRANTED


def test_a_day_keeps_the_epoch_it_started_with(contact_world: ContactWorld) -> None:
    tags = tags_for(contact_world, LENDER, 6, contact_world.day)
    assert phone(contact_world, LENDER, 6) is ClearanceDecision.GRANTED  # pins epoch 1 (if not yet)
    other_epoch = dataclasses.replace(tags, tag_key_epoch=2)

    answer = contact_world.client(LENDER)._transport.clear(
        ClearanceRequest(os.urandom(16), PHONE, ContactParty.DEBTOR, other_epoch)
    )

    assert answer.decision is ClearanceDecision.TAG_EPOCH and answer.tag_key_epoch == 1
