"""The curious bureau: nothing it receives or stores names a debtor or a number, and its counters
do not link a debtor from one day to the next.

The bureau holds the OPRF key, so it can compute the token of anyone's resident ID or mobile
number (here we read the tokens the members computed through it: the same values). The test
plays the bureau: it searches everything it received and stored for identifiers, for tokens,
and for every tag it could compute itself without the members' secret; and it compares the
tags of two days. Mutations shown red: day keys derived from a secret the bureau knows (an
all-zero members' secret in place of the ceremony's;
``test_no_identifier_token_or_computable_tag_reaches_the_bureau`` finds the tags), and day
keys that ignore the day (``test_tags_of_one_debtor_differ_from_day_to_day`` finds the same
tag on both days).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from google.protobuf.message import Message

from gateway.contact.flags import set_flag
from gateway.contact.keys import CONTACT_PURPOSE, debtor_tag, local_day_number, number_tag
from gateway.crypto.members_secret import MembersSecret
from gateway.store.database import open_store
from gateway.store.enums import ContactChannel, ContactFlagKind, TokenType
from gateway.store.models import Base, ContactReservation

from .conftest import AGENCIES, LENDER, OTHER_LENDER, ContactWorld

PERSONS = range(8)
PHONE = ContactChannel.PHONE


def workload(world: ContactWorld, day: dt.date) -> None:
    world.clock.set_local(day, 10)
    for member in (LENDER, OTHER_LENDER, *AGENCIES):
        world.sessions[member].flag_publisher().publish(day)
    for person in PERSONS:
        for member in (LENDER, *AGENCIES):
            clearance = world.client(member).clear(
                world.ref(member, person), channel=PHONE, number=world.persons[person].mobile
            )
            if clearance.granted:
                world.client(member).record(clearance, connected=person % 2 == 0, attempted_at=world.clock())


@pytest.fixture(scope="module")
def observed(module_world: ContactWorld) -> Iterator[ContactWorld]:
    world = module_world
    session = world.sessions[LENDER]
    set_flag(
        session.store,
        session.identity.own,
        flag_ref="dispute-0",
        kind=ContactFlagKind.DISPUTE,
        rules=session.contact_rules,
        account_ref=world.ref(LENDER, 0),
        number=None,
        provenance="letter",
        expires_on=world.day + dt.timedelta(days=5),
        agency=None,
        now=world.clock(),
    )
    workload(world, world.day)
    workload(world, world.day + dt.timedelta(days=1))
    yield world


def received(world: ContactWorld) -> list[Message]:
    return [r.message for r in world.recorder.records if r.direction == "received"]


def stored_values(world: ContactWorld) -> list[bytes]:
    store = open_store(world.bureau.settings.store_url)
    values: list[bytes] = []
    try:
        with store.transaction() as session:
            for table in Base.metadata.sorted_tables:
                for row in session.execute(sa.select(table)):
                    for value in row:
                        if isinstance(value, bytes):
                            values.append(value)
                        elif value is not None:
                            values.append(str(value).encode("utf-8"))
    finally:
        store.close()
    return values


def tokens(world: ContactWorld) -> list[bytes]:
    tokeniser = world.sessions[LENDER].tokeniser
    found: list[bytes] = []
    for kind, values in (
        (TokenType.RESIDENT_ID, [p.resident_id for p in world.persons]),
        (TokenType.MOBILE, [p.mobile for p in world.persons] + [p.relative_mobile for p in world.persons]),
    ):
        found += tokeniser.tokenise(kind, values)[1]
    return found


def computable_by_the_bureau(world: ContactWorld, all_tokens: list[bytes]) -> set[bytes]:
    """Everything the bureau could derive from a token and a day without the members' secret."""
    candidates: set[bytes] = set()
    for day in (world.day, world.day + dt.timedelta(days=1)):
        day_bytes = day.isoformat().encode()
        # A secret the bureau could guess (all zeros) under epoch 1 and the epoch requests carry.
        guessed = [MembersSecret(epoch, bytes(32)) for epoch in (1, world.secret_epoch)]
        keys = {secret.derive(CONTACT_PURPOSE, day_bytes) for secret in guessed}
        for token in all_tokens:
            for key in keys:
                candidates |= {debtor_tag(key, token), number_tag(key, token)}
            candidates |= {
                token,
                hashlib.sha256(token).digest(),
                hashlib.sha256(token + day_bytes).digest(),
                hashlib.sha256(day_bytes + token).digest(),
            }
    return candidates


def test_no_identifier_token_or_computable_tag_reaches_the_bureau(observed: ContactWorld) -> None:
    wire = b"".join(m.SerializeToString() for m in received(observed))
    stored = stored_values(observed)
    blob = wire + b"\x00".join(stored)
    identifiers = [
        value.encode()
        for p in observed.persons
        for value in (p.resident_id, p.mobile, p.relative_mobile, f"测试{p.index}")
    ]
    all_tokens = tokens(observed)
    candidates = computable_by_the_bureau(observed, all_tokens)

    assert len(received(observed)) > 40
    assert [i for i in identifiers if i in blob] == []
    assert [t.hex()[:16] for t in all_tokens if t in blob] == []
    stored_or_received = {v for v in stored if len(v) == 32} | {
        bytes(v) for m in received(observed) for v in _bytes_fields(m) if len(v) == 32
    }
    assert len(stored_or_received) > 20
    assert stored_or_received & candidates == set()


def test_tags_of_one_debtor_differ_from_day_to_day(observed: ContactWorld) -> None:
    by_day: dict[int, set[bytes]] = {}
    for message in received(observed):
        if message.DESCRIPTOR.name == "ClearContactRequest":
            tags = message.tags  # type: ignore[attr-defined]
            by_day.setdefault(tags.local_day, set()).update({tags.debtor_tag, tags.number_tag})
        if message.DESCRIPTOR.name == "PublishContactFlagsRequest":
            by_day.setdefault(message.local_day, set()).update(f.tag for f in message.flags)  # type: ignore[attr-defined]
    today, tomorrow = (local_day_number(observed.day + dt.timedelta(days=n)) for n in (0, 1))
    store = open_store(observed.bureau.settings.store_url)
    try:
        with store.transaction() as session:
            stored = {
                day: set(
                    session.scalars(
                        sa.select(ContactReservation.debtor_tag).where(ContactReservation.local_day == day)
                    )
                )
                for day in (observed.day, observed.day + dt.timedelta(days=1))
            }
    finally:
        store.close()

    assert len(by_day[today]) > 10 and len(by_day[tomorrow]) > 10
    assert by_day[today] & by_day[tomorrow] == set()
    assert len(stored[observed.day]) >= len(PERSONS) - 1
    assert stored[observed.day] & stored[observed.day + dt.timedelta(days=1)] == set()


def test_the_bureau_forgets_a_day_after_the_retention(observed: ContactWorld) -> None:
    later = observed.day + dt.timedelta(days=2)
    workload(observed, later)
    store = open_store(observed.bureau.settings.store_url)
    try:
        with store.transaction() as session:
            days = set(session.scalars(sa.select(ContactReservation.local_day)))
    finally:
        store.close()

    assert observed.day not in days and later in days


def _bytes_fields(message: Message) -> Iterator[bytes]:
    for field, value in message.ListFields():
        if field.type == field.TYPE_BYTES:
            yield from (value if field.is_repeated else [value])
        elif field.type == field.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                yield from _bytes_fields(item)
