"""An agency may clear only debtors a lender entrusted to it: the bureau checks the lender's grant.

Each test plays agency-3, which holds copies of bank-1's accounts but was given no grants, or
agency-2, and sends the bureau a request it built itself, deviating where it can. Mutations
shown red: dropping the agency check in ``ClearanceDesk._entrustment`` (copied grant granted),
dropping the tag check (another debtor's grant granted), accepting any certificate role
(agency-signed grant granted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import pytest

from gateway.contact.grants import sign_grant
from gateway.contact.keys import debtor_tag, local_day_number, number_tag
from gateway.contact.messages import ClearanceRequest, ContactTags, EntrustmentGrant
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactParty, TokenType
from gateway.store.repositories.contact_member import Grants

from .conftest import AGENCIES, LENDER, UNENTRUSTED_AGENCY, ContactWorld

PHONE = ContactChannel.PHONE


def tags_for(world: ContactWorld, member: str, person: int, day: dt.date) -> ContactTags:
    session = world.sessions[member]
    epoch, tokens = session.tokeniser.tokenise(TokenType.RESIDENT_ID, [world.persons[person].resident_id])
    _, numbers = session.tokeniser.tokenise(TokenType.MOBILE, [world.persons[person].mobile])
    key = session.day_keys.key_for(day, epoch=1)
    return ContactTags(
        local_day_number(day), 1, epoch, debtor_tag(key, tokens[0]), number_tag(key, numbers[0])
    )


def grant_held(world: ContactWorld, agency: str, tags: ContactTags) -> EntrustmentGrant:
    record = Grants(world.sessions[agency].store).find(tags.local_day, tags.debtor_tag, LENDER)
    assert record is not None
    return EntrustmentGrant(
        record.lender_member_id,
        record.agency_member_id,
        record.local_day,
        record.tag_key_epoch,
        record.debtor_tag,
        record.channels,
        record.third_party_allowed,
        record.lender_certificate,
        record.signature,
        record.version,
    )


def ask(
    world: ContactWorld, member: str, tags: ContactTags, grant: EntrustmentGrant | None
) -> ClearanceDecision:
    request = ClearanceRequest(os.urandom(16), PHONE, ContactParty.DEBTOR, tags, grant)
    return world.client(member)._transport.clear(request).decision


def test_an_agency_without_a_grant_is_refused_locally_and_at_the_bureau(contact_world: ContactWorld) -> None:
    local = contact_world.client(UNENTRUSTED_AGENCY).clear(
        contact_world.ref(UNENTRUSTED_AGENCY, 20), channel=PHONE, number=contact_world.persons[20].mobile
    )
    tags = tags_for(contact_world, UNENTRUSTED_AGENCY, 20, contact_world.day)

    assert local.decision is ClearanceDecision.NOT_ENTRUSTED
    assert ask(contact_world, UNENTRUSTED_AGENCY, tags, None) is ClearanceDecision.NOT_ENTRUSTED


def test_another_agencys_grant_is_refused(contact_world: ContactWorld) -> None:
    tags = tags_for(contact_world, UNENTRUSTED_AGENCY, 21, contact_world.day)
    copied = grant_held(contact_world, AGENCIES[0], tags)

    assert ask(contact_world, UNENTRUSTED_AGENCY, tags, copied) is ClearanceDecision.NOT_ENTRUSTED
    assert ask(contact_world, AGENCIES[0], tags, copied) is ClearanceDecision.GRANTED


def test_a_grant_for_another_debtor_or_another_day_is_refused(contact_world: ContactWorld) -> None:
    agency = AGENCIES[1]
    tags = tags_for(contact_world, agency, 22, contact_world.day)
    other_debtor = grant_held(contact_world, agency, tags_for(contact_world, agency, 23, contact_world.day))
    tomorrow = contact_world.day + dt.timedelta(days=1)
    tomorrows = grant_held(contact_world, agency, tags_for(contact_world, agency, 22, tomorrow))

    assert ask(contact_world, agency, tags, other_debtor) is ClearanceDecision.NOT_ENTRUSTED
    assert ask(contact_world, agency, tags, tomorrows) is ClearanceDecision.NOT_ENTRUSTED
    assert (
        ask(contact_world, agency, tags, grant_held(contact_world, agency, tags)) is ClearanceDecision.GRANTED
    )


def test_a_grant_signed_by_an_agency_or_altered_is_refused(contact_world: ContactWorld) -> None:
    agency = contact_world.sessions[UNENTRUSTED_AGENCY]
    tags = tags_for(contact_world, UNENTRUSTED_AGENCY, 24, contact_world.day)
    self_signed = sign_grant(
        lender_member_id=UNENTRUSTED_AGENCY,
        agency_member_id=UNENTRUSTED_AGENCY,
        local_day=tags.local_day,
        tag_key_epoch=tags.tag_key_epoch,
        debtor_tag=tags.debtor_tag,
        channels=frozenset({PHONE}),
        third_party_allowed=True,
        certificate_pem=agency.identity.cert_pem,
        key_pem=agency.identity.key_pem,
    )
    posing_as_lender = dataclasses.replace(self_signed, lender_member_id=LENDER)
    genuine = grant_held(contact_world, AGENCIES[0], tags)
    widened = dataclasses.replace(genuine, channels=genuine.channels | {ContactChannel.LETTER})

    assert ask(contact_world, UNENTRUSTED_AGENCY, tags, self_signed) is ClearanceDecision.NOT_ENTRUSTED
    assert ask(contact_world, UNENTRUSTED_AGENCY, tags, posing_as_lender) is ClearanceDecision.NOT_ENTRUSTED
    assert ask(contact_world, AGENCIES[0], tags, widened) is ClearanceDecision.NOT_ENTRUSTED


def test_a_channel_outside_the_grant_is_refused(contact_world: ContactWorld) -> None:
    ref = contact_world.ref(AGENCIES[0], 25)

    letter = contact_world.client(AGENCIES[0]).clear(ref, channel=ContactChannel.LETTER)

    assert letter.decision is ClearanceDecision.NOT_ENTRUSTED


@pytest.mark.parametrize("member", [LENDER, AGENCIES[0]])
def test_lenders_and_entrusted_agencies_are_granted(contact_world: ContactWorld, member: str) -> None:
    clearance = contact_world.client(member).clear(
        contact_world.ref(member, 26), channel=PHONE, number=contact_world.persons[26].mobile
    )

    assert clearance.granted
