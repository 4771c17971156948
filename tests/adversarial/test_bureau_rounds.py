"""The bureau re-sending rounds, varying attempts and sets, and declaring dropouts (findings 2 and 4).

The bureau plays with its own certificate against members' real MemberService. Before
issue #11 responders kept no state and answered any attempt and set the bureau named, and
the querier mask did not depend on the set: the sums over S and S∖{q} under one attempt
gave R, then every row; and with the querier's help a fake dropout opened the "dropped"
member's row as the difference of two attempts.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gateway.aggregation import answering_set_hash, decode, query_mask, self_mask, sum_contributions
from gateway.aggregation.field import scalar_mul, sub
from gateway.errors import GatewayError, PolicyDenied
from gateway.queries.subject_check.messages import FinalizeRequest
from gateway.store import open_store
from gateway.store.repositories.audit import AuditLog

from .conftest import People, World, colluding_chunk, fresh_time, round_request, true_row

DROPPED = "bank-2"


def test_a_responder_answers_each_attempt_once_and_only_over_shrinking_sets(
    world: World, people: People
) -> None:
    person, consent, reason = people.take("bank-1")
    chunk, _ = colluding_chunk(world, "bank-1", person["resident_id"], consent, reason)
    caller, views = world.bureau_caller(), world.member_views()
    everyone = sorted(world.members)
    when = fresh_time()
    caller.compute(
        views["bank-3"],
        round_request(chunk, "bank-3", attempt=1, participants=everyone, when=when),
        timeout=30,
    )

    deviations = {
        "the same attempt again": (1, everyone),
        "the same attempt over the set without the querier": (1, [m for m in everyone if m != "bank-1"]),
        "a later attempt over the same set": (2, everyone),
        "an attempt past the policy's maximum": (3, [m for m in everyone if m != DROPPED]),
    }
    refused = {}
    for name, (attempt, participants) in deviations.items():
        with pytest.raises(PolicyDenied) as caught:
            caller.compute(
                views["bank-3"],
                round_request(chunk, "bank-3", attempt=attempt, participants=participants, when=when),
                timeout=30,
            )
        refused[name] = caught.value.reason

    assert set(refused) == set(deviations)
    store = open_store(world.settings["bank-3"].store_url)
    try:
        audited = [e for e in AuditLog(store).entries() if e.action == "subject_check.answer.refused"]
    finally:
        store.close()
    assert len(audited) >= len(deviations)


def test_every_round_a_member_is_sent_is_audited_answered_or_not(world: World, people: People) -> None:
    """The answer's entry commits with the round state; one that does not open is audited as refused."""
    person, consent, reason = people.take("bank-1")
    chunk, _ = colluding_chunk(world, "bank-1", person["resident_id"], consent, reason)
    caller, views = world.bureau_caller(), world.member_views()
    answered = round_request(
        chunk, "bank-3", attempt=1, participants=sorted(world.members), when=fresh_time()
    )
    tampered = bytes([answered.sealed.ciphertext[0] ^ 1]) + answered.sealed.ciphertext[1:]
    garbled = replace(answered, sealed=replace(answered.sealed, ciphertext=tampered))
    store = open_store(world.settings["bank-3"].store_url)
    try:
        since = len(AuditLog(store).entries())
        caller.compute(views["bank-3"], answered, timeout=30)
        with pytest.raises(GatewayError):
            caller.compute(views["bank-3"], garbled, timeout=30)
        entries = [
            e for e in AuditLog(store).entries()[since:] if e.action.startswith("subject_check.answer")
        ]
    finally:
        store.close()

    request = answered.request_hash.hex()[:32]
    assert [(e.action, e.actor_member_id, e.decision.value, e.details["request_hash"]) for e in entries] == [
        ("subject_check.answer", "bureau", "allow", request),
        ("subject_check.answer.refused", "bank-3", "deny", request),
    ]
    assert entries[1].reason == "decryption_failed"


def test_bureau_and_querier_learn_nothing_from_a_fake_dropout(world: World, people: People) -> None:
    """The querier hands its chunk and seed to the bureau, which claims bank-2 dropped after it answered."""
    person, consent, reason = people.take("bank-1")
    chunk, seed = colluding_chunk(world, "bank-1", person["resident_id"], consent, reason)
    caller, views = world.bureau_caller(), world.member_views()
    everyone = sorted(world.members)
    survivors = [m for m in everyone if m != DROPPED]
    when = fresh_time()
    request_hash = chunk.request_hash()

    first = {
        m: caller.compute(
            views[m], round_request(chunk, m, attempt=1, participants=everyone, when=when), timeout=30
        )
        for m in everyone
    }
    second = {
        m: caller.compute(
            views[m], round_request(chunk, m, attempt=2, participants=survivors, when=when), timeout=30
        )
        for m in survivors
    }
    seeds_first, refused = {}, []
    for m in everyone:
        try:
            seeds_first[m] = caller.finalize(
                views[m], FinalizeRequest(when, request_hash, 1, answering_set_hash(everyone)), timeout=30
            )
        except PolicyDenied:
            refused.append(m)
    seeds_second = {
        m: caller.finalize(
            views[m], FinalizeRequest(when, request_hash, 2, answering_set_hash(survivors)), timeout=30
        )
        for m in survivors
    }

    def opened(contributions: dict, seeds: dict, attempt: int, members: list[str]) -> np.ndarray:
        total = sum_contributions([c.rows for c in contributions.values()])
        for seed_value in seeds.values():
            total = sub(total, self_mask(seed_value, total.shape))
        r = query_mask(
            seed,
            request_hash=request_hash,
            attempt=attempt,
            answering_set_hash=answering_set_hash(members),
            shape=total.shape,
        )
        return sub(total, scalar_mul(r, len(members)))

    difference = decode(
        sub(opened(first, seeds_first, 1, everyone), opened(second, seeds_second, 2, survivors))
    )[0]
    epoch, token = world.token_as_the_bureau(person["resident_id"])
    truth = true_row(world, DROPPED, token, epoch, when)

    assert truth.any(), "the dropped member must hold the subject for the test to mean anything"
    assert not np.array_equal(difference, truth), "the colluders opened the dropped member's row"
    # Survivors answered attempt 2, so they will not finalize attempt 1: it stays closed.
    assert sorted(refused) == survivors
    # What the colluders would need is every survivor's attempt-1 self-mask, never revealed.
    assert np.abs(difference).max() > 10**6
