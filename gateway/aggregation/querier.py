"""The querier's mask, which keeps the bureau's sum closed to everyone but the querier.

The querier draws a 32-byte ``query_seed`` per request and sends it, sealed with
HPKE, to every member it asks. Each answering member adds the same mask::

    R = expand(HKDF-SHA256(ikm=query_seed, salt=request_hash,
                           info="credgate/v1/query-seed" || attempt || answering_set_hash),
               label="credgate/v1/query-mask")

``R`` is bound to the attempt and to the answering set (issue #11): sums over two
different sets never share a querier mask, so the bureau cannot difference them to
isolate ``R`` (with the querier's zero row) or a member's row. The querier removes
``|S|·R`` from the bureau's sum, leaving the true sum because the pairwise masks have
already cancelled.
"""

from __future__ import annotations

from gateway.aggregation.context import MAX_ATTEMPT
from gateway.aggregation.field import Residues, check_residues, scalar_mul, sub
from gateway.aggregation.prg import SEED_BYTES, expand
from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["QUERY_MASK_LABEL", "QUERY_SEED_LABEL", "query_mask", "unmask_sum"]

QUERY_SEED_LABEL = b"credgate/v1/query-seed"
QUERY_MASK_LABEL = b"credgate/v1/query-mask"


def query_mask(
    query_seed: bytes,
    *,
    request_hash: bytes,
    attempt: int,
    answering_set_hash: bytes,
    shape: tuple[int, ...],
) -> Residues:
    """Return the querier mask ``R`` every answering member adds for this attempt and set.

    Raises
    ------
    InvalidInputError
        When the seed or a hash is not 32 bytes or the attempt is out of range.

    """
    if len(query_seed) != SEED_BYTES:
        raise InvalidInputError(f"expected 32 bytes, received {len(query_seed)}", field="query_seed")
    for name, value in (("request_hash", request_hash), ("answering_set_hash", answering_set_hash)):
        if len(value) != 32:
            raise InvalidInputError(f"expected 32 bytes, received {len(value)}", field=name)
    if not 0 <= attempt <= MAX_ATTEMPT:
        raise InvalidInputError(f"expected 0 <= attempt < 2**32, received {attempt}", field="attempt")
    info = length_prefixed(QUERY_SEED_LABEL) + i2osp(attempt, 4) + answering_set_hash
    seed = hkdf_sha256(query_seed, salt=request_hash, info=info, length=SEED_BYTES)
    return expand(seed, label=QUERY_MASK_LABEL, shape=shape)


def unmask_sum(
    masked_sum: Residues,
    *,
    query_seed: bytes,
    request_hash: bytes,
    attempt: int,
    answering_set_hash: bytes,
    answering_count: int,
) -> Residues:
    """Remove ``answering_count · R`` from the bureau's sum, giving the true sum as residues.

    Decode the result with :func:`gateway.aggregation.field.decode`.

    Parameters
    ----------
    masked_sum
        The bureau's sum of all masked contributions.
    query_seed
        The seed the querier sealed to every member.
    request_hash
        The request's hash, as in the members' :class:`MaskContext`.
    attempt
        The attempt the sum belongs to.
    answering_set_hash
        The hash of the set that answered it.
    answering_count
        How many members' contributions the bureau summed.

    Returns
    -------
    Residues
        The sum of the members' encoded values.

    Raises
    ------
    InvalidInputError
        When the sum is not reduced ``uint64`` or a parameter is out of range.

    """
    check_residues(masked_sum, field="masked_sum")
    if answering_count < 1:
        raise InvalidInputError(f"expected at least 1, received {answering_count}", field="answering_count")
    mask = query_mask(
        query_seed,
        request_hash=request_hash,
        attempt=attempt,
        answering_set_hash=answering_set_hash,
        shape=masked_sum.shape,
    )
    return sub(masked_sum, scalar_mul(mask, answering_count))
