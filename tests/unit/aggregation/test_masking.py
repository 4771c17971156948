"""Pairwise and querier masks: they cancel, they are fresh per attempt, and they hide one member."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.aggregation.context import MaskContext
from gateway.aggregation.contribution import mask_contribution, sum_contributions
from gateway.aggregation.field import HALF, P, decode, encode, sub
from gateway.aggregation.pairwise import pairwise_mask, pairwise_seed
from gateway.aggregation.querier import query_mask, unmask_sum
from gateway.crypto.keys import KeyPair
from gateway.errors import InvalidInputError

REQUEST_HASH = hashlib.sha256(b"subject-check request").digest()
QUERY_SEED = bytes(range(32))


@dataclass(frozen=True)
class Consortium:
    keys: dict[str, KeyPair]

    @classmethod
    def of(cls, size: int) -> Consortium:
        return cls({f"member-{index:02d}": KeyPair.generate() for index in range(size)})

    def peers_of(self, member_id: str, answering: Sequence[str]) -> dict[str, bytes]:
        return {peer: self.keys[peer].public_key for peer in answering if peer != member_id}

    def pairwise(
        self, member_id: str, answering: Sequence[str], context: MaskContext, shape: tuple[int, ...]
    ) -> np.ndarray:
        return pairwise_mask(
            own_id=member_id,
            own_mask_private=self.keys[member_id].private_key,
            peers=self.peers_of(member_id, answering),
            context=context,
            shape=shape,
        )

    def contribute(
        self, member_id: str, values: np.ndarray, answering: Sequence[str], context: MaskContext
    ) -> np.ndarray:
        return mask_contribution(
            values,
            own_id=member_id,
            own_mask_private=self.keys[member_id].private_key,
            peers=self.peers_of(member_id, answering),
            context=context,
            query_seed=QUERY_SEED,
        )


def random_values(rng: np.random.Generator, shape: tuple[int, ...], bound: int = 1_000) -> np.ndarray:
    return rng.integers(-bound, bound, size=shape, dtype=np.int64)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(min_value=3, max_value=10),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 9)),
    attempt=st.integers(min_value=0, max_value=3),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_pairwise_masks_cancel_and_the_querier_recovers_the_true_sum(
    size: int, shape: tuple[int, int], attempt: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    consortium = Consortium.of(size)
    answering = list(consortium.keys)
    context = MaskContext.for_members(REQUEST_HASH, attempt, answering)
    values = {member: random_values(rng, shape, bound=HALF // (2 * size)) for member in answering}

    pairwise_total = sum_contributions([consortium.pairwise(m, answering, context, shape) for m in answering])
    masked = [consortium.contribute(m, values[m], answering, context) for m in answering]
    opened = unmask_sum(
        sum_contributions(masked),
        query_seed=QUERY_SEED,
        request_hash=REQUEST_HASH,
        attempt=attempt,
        answering_set_hash=context.answering_set_hash,
        answering_count=size,
    )

    assert not pairwise_total.any()
    assert np.array_equal(decode(opened), sum(values.values()))


def test_pairwise_seeds_agree_between_both_members() -> None:
    consortium = Consortium.of(3)
    context = MaskContext.for_members(REQUEST_HASH, 1, consortium.keys)
    a, b = "member-00", "member-01"
    seed_ab = pairwise_seed(
        own_id=a,
        own_mask_private=consortium.keys[a].private_key,
        peer_id=b,
        peer_mask_public=consortium.keys[b].public_key,
        context=context,
    )
    seed_ba = pairwise_seed(
        own_id=b,
        own_mask_private=consortium.keys[b].private_key,
        peer_id=a,
        peer_mask_public=consortium.keys[a].public_key,
        context=context,
    )
    assert seed_ab == seed_ba


def test_a_new_attempt_or_answering_set_gives_fresh_masks() -> None:
    consortium = Consortium.of(5)
    everyone = list(consortium.keys)
    survivors = everyone[:4]
    shape = (4, 8)
    first = MaskContext.for_members(REQUEST_HASH, 1, everyone)
    rerun = MaskContext.for_members(REQUEST_HASH, 2, survivors)
    same_set_next_attempt = MaskContext.for_members(REQUEST_HASH, 2, everyone)
    same_attempt_other_set = MaskContext.for_members(REQUEST_HASH, 1, survivors)

    member = everyone[0]
    masks = [
        consortium.pairwise(member, everyone, first, shape),
        consortium.pairwise(member, survivors, rerun, shape),
        consortium.pairwise(member, everyone, same_set_next_attempt, shape),
        consortium.pairwise(member, survivors, same_attempt_other_set, shape),
    ]
    for i, left in enumerate(masks):
        for right in masks[i + 1 :]:
            assert not np.array_equal(left, right)
    set_hash = first.answering_set_hash
    r1 = query_mask(
        QUERY_SEED, request_hash=REQUEST_HASH, attempt=1, answering_set_hash=set_hash, shape=shape
    )
    r2 = query_mask(
        QUERY_SEED, request_hash=REQUEST_HASH, attempt=2, answering_set_hash=set_hash, shape=shape
    )
    assert not np.array_equal(r1, r2)


def test_a_rerun_over_the_survivors_opens_their_sum() -> None:
    rng = np.random.default_rng(7)
    consortium = Consortium.of(5)
    everyone = list(consortium.keys)
    survivors = everyone[:4]  # member-04 missed the deadline of attempt 1.
    values = {m: random_values(rng, (3, 5)) for m in everyone}
    context = MaskContext.for_members(REQUEST_HASH, 2, survivors)

    masked = [consortium.contribute(m, values[m], survivors, context) for m in survivors]
    opened = unmask_sum(
        sum_contributions(masked),
        query_seed=QUERY_SEED,
        request_hash=REQUEST_HASH,
        attempt=2,
        answering_set_hash=context.answering_set_hash,
        answering_count=len(survivors),
    )

    assert np.array_equal(decode(opened), sum(values[m] for m in survivors))


def test_the_bureaus_sum_without_the_query_seed_is_not_the_true_sum() -> None:
    rng = np.random.default_rng(11)
    consortium = Consortium.of(4)
    answering = list(consortium.keys)
    context = MaskContext.for_members(REQUEST_HASH, 1, answering)
    values = {m: random_values(rng, (2, 16)) for m in answering}

    masked = [consortium.contribute(m, values[m], answering, context) for m in answering]
    bureau_sum = sum_contributions(masked)

    true_sum = encode(sum(values.values()))
    assert not np.array_equal(bureau_sum, true_sum)
    # The pairwise masks cancelled, so what hides the sum is exactly |S|·R.
    r = query_mask(
        QUERY_SEED,
        request_hash=REQUEST_HASH,
        attempt=1,
        answering_set_hash=context.answering_set_hash,
        shape=(2, 16),
    )
    assert np.array_equal(sub(bureau_sum, true_sum), sum_contributions([r] * len(answering)))


def test_bureau_and_querier_together_do_not_recover_one_members_vector() -> None:
    rng = np.random.default_rng(13)
    consortium = Consortium.of(4)
    answering = list(consortium.keys)
    context = MaskContext.for_members(REQUEST_HASH, 1, answering)
    target = answering[1]
    values = random_values(rng, (3, 7))
    masked = consortium.contribute(target, values, answering, context)

    # The bureau holds `masked`; the querier knows the query seed, hence R.
    r = query_mask(
        QUERY_SEED,
        request_hash=REQUEST_HASH,
        attempt=1,
        answering_set_hash=context.answering_set_hash,
        shape=(3, 7),
    )
    residual = sub(sub(masked, r), encode(values))

    assert not np.array_equal(sub(masked, r), encode(values))
    # What still hides the vector is the member's pairwise mask, which needs its
    # mask private key (or every peer's) to compute; neither party has one.
    assert np.array_equal(residual, consortium.pairwise(target, answering, context, (3, 7)))
    assert residual.any()


def test_the_querier_mask_is_bound_to_the_answering_set() -> None:
    consortium = Consortium.of(6)
    everyone = list(consortium.keys)
    zeros = np.zeros((2, 3), dtype=np.int64)
    masks = []
    for answering in (everyone[:3], everyone[3:]):
        context = MaskContext.for_members(REQUEST_HASH, 1, answering)
        total = sum_contributions([consortium.contribute(m, zeros, answering, context) for m in answering])
        r = query_mask(
            QUERY_SEED,
            request_hash=REQUEST_HASH,
            attempt=1,
            answering_set_hash=context.answering_set_hash,
            shape=(2, 3),
        )
        assert np.array_equal(total, sum_contributions([r, r, r]))
        masks.append(r)
    # Issue #11: two sets under one attempt never share R, so differencing them opens nothing.
    assert not np.array_equal(masks[0], masks[1])


def test_contribution_refuses_fewer_than_three_answering_members() -> None:
    consortium = Consortium.of(2)
    answering = list(consortium.keys)
    context = MaskContext.for_members(REQUEST_HASH, 1, answering)
    with pytest.raises(InvalidInputError, match="at least 3 answering members, received 2"):
        consortium.contribute(answering[0], np.zeros(3, dtype=np.int64), answering, context)


def test_masks_refuse_peers_that_do_not_match_the_context() -> None:
    consortium = Consortium.of(4)
    answering = list(consortium.keys)
    context = MaskContext.for_members(REQUEST_HASH, 1, answering[:3])
    with pytest.raises(InvalidInputError, match="answering set"):
        consortium.pairwise(answering[0], answering, context, (2,))
    own = answering[0]
    with pytest.raises(InvalidInputError, match="itself"):
        pairwise_mask(
            own_id=own,
            own_mask_private=consortium.keys[own].private_key,
            peers={own: consortium.keys[own].public_key},
            context=context,
            shape=(2,),
        )


def test_sum_and_unmask_refuse_malformed_input() -> None:
    with pytest.raises(InvalidInputError, match="contributions"):
        sum_contributions([])
    with pytest.raises(InvalidInputError, match=r"contributions\[1\]"):
        sum_contributions([np.zeros(3, np.uint64), np.zeros(4, np.uint64)])
    with pytest.raises(InvalidInputError, match=r"contributions\[0\]"):
        sum_contributions([np.full(3, P, np.uint64)])
    with pytest.raises(InvalidInputError, match="answering_count"):
        unmask_sum(
            np.zeros(3, np.uint64),
            query_seed=QUERY_SEED,
            request_hash=REQUEST_HASH,
            attempt=1,
            answering_set_hash=REQUEST_HASH,
            answering_count=0,
        )
    with pytest.raises(InvalidInputError, match="query_seed"):
        query_mask(
            bytes(16), request_hash=REQUEST_HASH, attempt=1, answering_set_hash=REQUEST_HASH, shape=(1,)
        )
