"""Verifiable sums: the querier checks the bureau's sum against members' signed digests.

From the query seed (sealed to members, never seen by the bureau) every participant and
the querier derive a vector ``v`` of ``width`` integers below 2**32. Each participant
signs ``d_i = c_i · v`` (row by row, modulo P) for its contribution ``c_i`` before the
self-mask; the querier checks ``U · v = Σ d_i`` for the unmasked-from-self-masks sum ``U``
the bureau returns. A shift ``δ ≠ 0`` of any row passes only if ``δ · v = 0``, which for
``v`` uniform on ``[0, 2**32)^width`` and unknown to the bureau has probability at most
2**-32 (Schwartz–Zippel over the field of P elements). ``d_i`` reveals nothing of the
member's row: ``c_i`` carries the member's pairwise masks, uniform to everyone else.
"""

from __future__ import annotations

import numpy as np

from gateway.aggregation.field import P, Residues, add_into, check_residues, scalar_mul
from gateway.crypto.encoding import length_prefixed
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import InvalidInputError

__all__ = ["row_digests", "verification_vector"]

VERIFY_LABEL = b"credgate/v1/sum-verification"
_FEW_ROWS = 16


def verification_vector(query_seed: bytes, request_hash: bytes, width: int) -> list[int]:
    """The secret check vector of a request: ``width`` integers in ``[0, 2**32)``."""
    stream = hkdf_sha256(query_seed, salt=request_hash, info=length_prefixed(VERIFY_LABEL), length=4 * width)
    return [int.from_bytes(stream[4 * k : 4 * k + 4], "little") for k in range(width)]


def row_digests(matrix: Residues, vector: list[int]) -> Residues:
    """``matrix · vector`` modulo P, one residue per row.

    Raises
    ------
    InvalidInputError
        When the matrix is not a reduced 2-D array as wide as the vector.

    """
    check_residues(matrix, field="matrix")
    if matrix.ndim != 2 or matrix.shape[1] != len(vector):
        raise InvalidInputError(f"expected {len(vector)} columns, received {matrix.shape}", field="matrix")
    if matrix.shape[0] <= _FEW_ROWS:
        # A single check: Python integers beat 59 vectorised passes over one row.
        digests = [
            sum(int(value) * weight for value, weight in zip(row.tolist(), vector, strict=True)) % P
            for row in matrix
        ]
        return np.array(digests, dtype=np.uint64)
    total: Residues = np.zeros(matrix.shape[0], dtype=np.uint64)
    scratch = np.empty_like(total)
    for column, weight in enumerate(vector):
        if weight:
            add_into(total, scalar_mul(np.ascontiguousarray(matrix[:, column]), weight), scratch=scratch)
    return total
