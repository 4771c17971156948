"""The bureau making up a check on anyone (finding 3), and deriving masks from public data.

HPKE base mode does not authenticate the sender: the bureau can seal to every member.
Before issue #11 it could fabricate a check for a token it computed (it holds the OPRF
key) with a seed of its own, and read the sum. Now each envelope carries an authenticator
keyed with the members' secret; responders refuse any query without a valid one.
"""

from __future__ import annotations

import os

import numpy as np
import sqlalchemy as sa

from gateway.aggregation import answering_set_hash, decode, query_mask, self_mask
from gateway.aggregation.field import sub
from gateway.aggregation.prg import expand
from gateway.crypto.encoding import length_prefixed, length_prefixed_all
from gateway.crypto.hpke import seal
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import PolicyDenied
from gateway.node.session import member_session
from gateway.queries.subject_check.envelope import TokenChunk, chunk_binding, envelope_info
from gateway.queries.subject_check.messages import CheckChunk, FinalizeRequest, SealedFor
from gateway.queries.subject_check.querier import SubjectRequest
from gateway.store import open_store
from gateway.store.enums import ReasonCode, TokenType
from gateway.store.models import CachedCheckRow

from .conftest import People, World, colluding_chunk, fresh_time, round_request, true_row


def fabricated_chunk(world: World, token: bytes, epoch: int, tag: bytes) -> CheckChunk:
    """A chunk the bureau seals itself to every member: its token, its seed, a guessed authenticator."""
    views = world.member_views()
    idempotency_key = os.urandom(16)
    binding = chunk_binding(idempotency_key, 0, 1, 1, (tag,))
    sealed = []
    for member_id, view in sorted(views.items()):
        assert view.keys is not None
        content = TokenChunk(epoch, TokenType.RESIDENT_ID, bytes(32), os.urandom(32), (token,), False)
        box = seal(
            view.keys.hpke_public_key, content.to_bytes(), info=envelope_info(binding, member_id), aad=b""
        )
        sealed.append(SealedFor(member_id, box.enc, box.ciphertext))
    return CheckChunk(
        idempotency_key, ReasonCode.LOAN_APPROVAL, bytes(32), 0, True, 1, tuple(sealed), (tag,), 1
    )


def test_responders_refuse_a_check_no_member_made(world: World, people: People) -> None:
    person, consent, reason = people.take("bank-1")
    with member_session(world.settings["bank-1"]) as session:
        session.subject_checks().check_one(SubjectRequest(person["resident_id"], consent), reason)
    epoch, token = world.token_as_the_bureau(person["resident_id"])
    store = open_store(world.bureau.settings.store_url)
    try:
        with store.transaction() as session:
            tags_seen_today = list(session.scalars(sa.select(CachedCheckRow.dedup_tag)))
    finally:
        store.close()
    caller, views = world.bureau_caller(), world.member_views()
    everyone = sorted(views)

    answered, refusals = [], set()
    # The bureau tries every tag it saw today: one of them is this person's.
    for tag in tags_seen_today:
        chunk = fabricated_chunk(world, token, epoch, tag)
        for member_id in everyone:
            try:
                caller.compute(
                    views[member_id],
                    round_request(chunk, member_id, attempt=1, participants=everyone, when=fresh_time()),
                    timeout=30,
                )
                answered.append((tag, member_id))
            except PolicyDenied as refused:
                refusals.add(refused.reason)

    assert tags_seen_today
    assert answered == []
    assert refusals == {"unauthenticated_query"}


def _public_only_candidates(pairs: list[tuple[str, bytes]]) -> list[bytes]:
    """Seeds made of public values only: the keys in id order or value order, alone, or nothing."""
    by_id = b"".join(k for _, k in pairs)
    low, high = sorted(k for _, k in pairs)
    return [b"", by_id, low + high, pairs[0][1], pairs[1][1], bytes(32)]


def test_masks_cannot_be_derived_from_public_data(world: World, people: People) -> None:
    """The bureau and the querier strip R and the self-mask, then try every public-only seed."""
    person, consent, reason = people.take("bank-1")
    chunk, seed = colluding_chunk(world, "bank-1", person["resident_id"], consent, reason)
    caller, views = world.bureau_caller(), world.member_views()
    everyone = sorted(views)
    when = fresh_time()
    target = "bank-2"
    contribution = caller.compute(
        views[target], round_request(chunk, target, attempt=1, participants=everyone, when=when), timeout=30
    )
    for member_id in everyone:
        if member_id != target:
            caller.compute(
                views[member_id],
                round_request(chunk, member_id, attempt=1, participants=everyone, when=when),
                timeout=30,
            )
    set_hash = answering_set_hash(everyone)
    own_seed = caller.finalize(
        views[target], FinalizeRequest(when, chunk.request_hash(), 1, set_hash), timeout=30
    )
    rows = contribution.rows
    residue = sub(
        sub(
            rows,
            query_mask(
                seed,
                request_hash=chunk.request_hash(),
                attempt=1,
                answering_set_hash=set_hash,
                shape=rows.shape,
            ),
        ),
        self_mask(own_seed, rows.shape),
    )
    epoch, token = world.token_as_the_bureau(person["resident_id"])
    truth = true_row(world, target, token, epoch, when)
    publics = {m: v.keys.mask_public_key for m, v in views.items() if v.keys is not None}

    # The pairwise masks, were they computable from public keys, ids and the request alone
    # (the documented derivation with the X25519 secret replaced by public values).
    opened = []
    for candidate in range(6):
        guess = residue.copy()
        for peer in everyone:
            if peer == target:
                continue
            pairs = sorted([(target, publics[target]), (peer, publics[peer])], key=lambda p: p[0].encode())
            info = (
                length_prefixed(b"credgate/v1/pairwise-seed")
                + (1).to_bytes(4, "big")
                + set_hash
                + length_prefixed_all(m.encode() for m, _ in pairs)
                + length_prefixed_all(k for _, k in pairs)
            )
            ikm = _public_only_candidates(pairs)[candidate]
            mask = expand(
                hkdf_sha256(ikm, salt=chunk.request_hash(), info=info, length=32),
                label=b"credgate/v1/pairwise-mask",
                shape=rows.shape,
            )
            guess = (
                sub(guess, mask)
                if target.encode() < peer.encode()
                else sub(guess, sub(np.zeros_like(mask), mask))
            )
        opened.append(np.array_equal(decode(guess)[0], truth))

    assert truth.any()
    assert not any(opened)
