"""Signed contribution digests, and the querier's check of the bureau's sum against them.

Each participant signs, with its certificate key::

    label "credgate/v1/contribution-proof" ||
    request_hash (32) || attempt (4) || answering_set_hash (32) || len ‖ member_id || len ‖ digest

where ``digest`` holds one little-endian uint64 residue per row (``row_digests``). The
querier verifies every participant's signature against its pinned certificate, checks the
signers are exactly the participants, and that ``row · v`` equals the sum of the digests
for every row the bureau returns (``gateway.aggregation.verification``).
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Mapping, Sequence

import numpy as np

from gateway.aggregation import MaskContext, answering_set_hash, row_digests, verification_vector
from gateway.aggregation.field import P, Residues
from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.signatures import (
    SerialCheck,
    SignatureInvalid,
    sign_with_tls_key,
    verify_with_certificate,
)
from gateway.errors import VerificationError
from gateway.queries.subject_check.messages import ContributionProof

PROOF_LABEL = b"credgate/v1/contribution-proof"


def _message(member_id: str, context: MaskContext, digest: bytes) -> bytes:
    return (
        context.request_hash
        + i2osp(context.attempt, 4)
        + context.answering_set_hash
        + length_prefixed(member_id.encode("utf-8"))
        + length_prefixed(digest, width=4)
    )


def sign_proof(
    member_id: str, context: MaskContext, digests: Residues, tls_key_pem: bytes
) -> ContributionProof:
    """Sign this participant's per-row digests."""
    digest = digests.astype("<u8").tobytes()
    signature = sign_with_tls_key(
        PROOF_LABEL, _message(member_id, context, digest), tls_key_pem, field="tls_key"
    )
    return ContributionProof(member_id, digest, signature)


def verify_sum(
    rows: Residues,
    positions: Sequence[int],
    *,
    query_seed: bytes,
    request_hash: bytes,
    attempt: int,
    participants: Sequence[str],
    proofs: Sequence[ContributionProof],
    certificates: Mapping[str, bytes],
    ca_pem: bytes,
    revocation: SerialCheck,
    now: dt.datetime,
) -> None:
    """Raise unless ``rows`` (row ``k`` at round position ``positions[k]``) match the signed digests.

    Raises
    ------
    VerificationError
        When a participant's proof is missing, extra or badly signed, or a row was shifted.

    """
    set_hash = answering_set_hash(participants)
    context = MaskContext(request_hash, attempt, set_hash)
    if sorted(p.member_id for p in proofs) != sorted(participants):
        raise VerificationError("the bureau's answer does not carry one proof per participant")
    total = np.zeros(0, dtype=np.uint64)
    for proof in proofs:
        certificate = certificates.get(proof.member_id)
        if certificate is None:
            raise VerificationError(f"no pinned certificate for participant {proof.member_id}")
        pem = ssl.DER_cert_to_PEM_cert(certificate).encode("ascii")
        try:
            signer = verify_with_certificate(
                PROOF_LABEL,
                _message(proof.member_id, context, proof.digest),
                proof.signature,
                pem,
                ca_certificate_pem=ca_pem,
                now=now,
                revocation=revocation,
            )
        except SignatureInvalid as exc:
            raise VerificationError(f"participant {proof.member_id}'s proof does not verify") from exc
        if signer.member_id != proof.member_id:
            raise VerificationError(f"participant {proof.member_id}'s proof is signed by another member")
        digest = np.frombuffer(proof.digest, dtype="<u8").astype(np.uint64)
        if digest.size and bool((digest >= np.uint64(P)).any()):
            raise VerificationError(f"participant {proof.member_id}'s digest is not reduced")
        total = digest.copy() if total.size == 0 else (total + digest) % np.uint64(P)
    vector = verification_vector(query_seed, request_hash, rows.shape[1])
    expected = total[list(positions)] if total.size else total
    if expected.shape[0] != rows.shape[0] or not np.array_equal(row_digests(rows, vector), expected):
        raise VerificationError("the bureau's sum does not match the members' signed contributions")
