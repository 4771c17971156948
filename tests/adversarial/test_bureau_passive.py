"""The bureau, passive, naming the person behind a check (finding 1).

It holds the OPRF key, so it can compute any resident ID's token and every unkeyed
function of it. Before issue #11 the dedup tag was ``SHA-256(label ‖ token ‖ date)`` and
subject access carried the token in the clear: the bureau found querier, reason and day
for a named person in its cache, which was never purged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import sqlalchemy as sa

from gateway.clock import system_clock
from gateway.crypto.keys import KeyPair
from gateway.node.session import member_session
from gateway.node.subject_access import relay_subject_access
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.models import CachedCheckRow

from .conftest import People, World


def unkeyed_functions(token: bytes, day: dt.date) -> dict[str, bytes]:
    """What the bureau can compute from a token it made itself."""
    date = day.isoformat().encode("ascii")
    return {
        "token": token,
        "token hex": token.hex().encode("ascii"),
        "sha256(token)": hashlib.sha256(token).digest(),
        "pre-#11 dedup tag": hashlib.sha256(b"credgate/v1/dedup" + token + date).digest(),
        "sha256(token‖date)": hashlib.sha256(token + date).digest(),
    }


def test_nothing_the_bureau_sees_or_stores_is_a_function_of_a_token_it_can_compute(
    world: World, people: People
) -> None:
    person, consent, reason = people.take("bank-1")
    with member_session(world.settings["bank-1"]) as session:
        session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
    with member_session(world.settings["cfc-1"]) as session:
        relay_subject_access(session, person["resident_id"], KeyPair.generate().public_key, "REQ-PASSIVE")
    _, token = world.token_as_the_bureau(person["resident_id"])
    today = system_clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()

    received = b"".join(m.SerializeToString() for m in world.bureau_recorder.messages(direction="received"))
    stored = b"".join(p.read_bytes() for p in Path(world.bureau.settings.data_dir).glob("store.db*"))
    found = {
        name: where
        for day in (today - dt.timedelta(days=1), today)
        for name, value in unkeyed_functions(token, day).items()
        for where, blob in (("received", received), ("stored", stored))
        if value in blob
    }

    assert found == {}


def test_the_bureaus_cache_expires_with_its_day(world: World, people: People) -> None:
    person, consent, reason = people.take("bank-1")
    store = open_store(world.bureau.settings.store_url)
    yesterday = system_clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date() - dt.timedelta(days=1)
    try:
        with store.transaction() as session:
            session.add(
                CachedCheckRow(
                    querier_member_id="bank-1",
                    local_day=yesterday,
                    dedup_tag=bytes(32),
                    masked_row=bytes(8),
                    row_index=0,
                    round_rows=1,
                    request_hash=bytes(32),
                    attempt=1,
                    members_asked=4,
                    members_answered=4,
                    participants=5,
                    segment_map="1,2,3,4",
                    created_at=system_clock() - dt.timedelta(days=1),
                )
            )
        # The bureau purges at the first check of a new day; make this check count as one.
        world.bureau_router_purged_day_reset()
        with member_session(world.settings["bank-1"]) as session:
            session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
        with store.transaction() as session:
            days = set(session.scalars(sa.select(CachedCheckRow.local_day)))
    finally:
        store.close()

    assert yesterday not in days
