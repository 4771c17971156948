"""Phase 3 of a report: how many members hold each person, known to members only (issue #13).

Before issue #13 members sent the bureau keyed pseudonyms of their borrowers, so the bureau saw
which members held each (unnamed) borrower and every pairwise overlap of the members' books.
Now nobody but the members sees anything, and they see only counts:

1. Every member keys each person it would count in the release (its debtors, applicants,
   contacted debtors, queried subjects: their OPRF tokens) into one of ``H`` buckets,
   ``h = HMAC-SHA256(K_b, token) mod H``, under a key derived from the members-only secret
   (the bureau holds the OPRF key and could compute any token, never ``K_b``). Its vector
   ``x`` holds, per bucket, 256 × (persons it counts) + (persons it lends to): two counts in
   one 16-bit word.
2. It sends ``x + R + Σ pairwise + B_self`` (mod 2^16, ``gateway.aggregation.words``), where
   ``R`` is a members-only mask, and a check value ``⟨r, x⟩`` (mod 2^61 − 1) masked the same
   way, ``r`` a members-only random vector.
3. The bureau sums the vectors and, once every member revealed its self-mask (one attempt per
   request, as for every phase), opens ``y = c + n·R`` and ``s = ⟨r, c⟩ + n·R_s``: still masked
   by ``R``, which it lacks. It serves ``(y, s)`` to the members.
4. Each member removes ``n·R`` and checks ``⟨r, c⟩ + n·R_s = s``: a bureau that altered ``y``
   (say, lowered every count) would have to alter ``s`` by ``⟨r, δ⟩`` for an ``r`` it does not
   know, and is caught except with probability 2^-61.

Each member then knows, for each bucket, how many members count persons in it (``c >> 8``) and
how many lend to them (``c & 255``). It leaves out of every histogram the persons of buckets
counted more than ``max_members_per_person`` times, which bounds what any one person adds to a
release whatever else shares its bucket (a person's arrival can only push its bucket's total
over the limit, removing at most the limit's worth of contributions). One member (the first of
the answering set) bins the buckets by lenders count for the lenders-per-borrower histogram;
everyone adds noise; the release estimates persons from buckets (``gateway.reports.estimate``).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gateway.aggregation.field import P, Residues
from gateway.aggregation.prg import expand
from gateway.aggregation.words import Words, expand_words
from gateway.crypto.encoding import i2osp
from gateway.crypto.members_secret import MembersSecret
from gateway.errors import InvalidInputError, VerificationError
from gateway.reports.histograms import Counts

__all__ = [
    "CHUNK_WORDS",
    "SELF_WORDS_LABEL",
    "HoldersCount",
    "HoldersKeys",
    "bucket_histogram",
    "check_value",
    "holders_vector",
    "pack_words",
    "unpack_words",
]

PURPOSE = "report-pseudonym"
SELF_WORDS_LABEL = b"credgate/v1/self-mask-words"
_COMMON_LABEL = b"credgate/v1/report-holders-common"
_CHECK_LABEL = b"credgate/v1/report-holders-check"
# Words per streamed chunk: 512 KiB, below the 1 MiB message limit (ARCHITECTURE §8).
CHUNK_WORDS = 1 << 18
_LENDER_MASK = np.uint16(0xFF)
_MEMBER_UNIT = 256
_LIMB = 21


@dataclass(frozen=True)
class HoldersKeys:
    """This request's members-only keys: bucket key, common mask, check vector and check mask."""

    epoch: int
    bucket_key: bytes
    common_seed: bytes
    check_seed: bytes
    check_mask: int

    @classmethod
    def derive(cls, secret: MembersSecret, request_hash: bytes) -> HoldersKeys:
        """Derive every key of one request from the members' secret (purpose ``report-pseudonym``)."""
        check_mask = int.from_bytes(secret.derive(PURPOSE, b"check-mask", request_hash, length=16), "big") % P
        return cls(
            secret.epoch,
            secret.derive(PURPOSE, b"bucket", request_hash),
            secret.derive(PURPOSE, b"common-mask", request_hash),
            secret.derive(PURPOSE, b"check-vector", request_hash),
            check_mask,
        )

    @property
    def epoch_bytes(self) -> bytes:
        """The epoch, bound into phase 3's mask context so members of different epochs never mix."""
        return i2osp(self.epoch, 4)

    def bucket(self, token: bytes, buckets: int) -> int:
        """The bucket of ``token`` among ``buckets`` (a power of two)."""
        digest = hmac.new(self.bucket_key, token, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") & (buckets - 1)

    def common_mask(self, buckets: int) -> Words:
        """``R``: the mask every member adds, which only members can remove."""
        return expand_words(self.common_seed, label=_COMMON_LABEL, count=buckets)

    def check_vector(self, buckets: int) -> Residues:
        """``r``: the members-only vector the check value is taken against."""
        return expand(self.check_seed, label=_CHECK_LABEL, shape=(buckets,))


def holders_vector(persons: Mapping[bytes, bool], keys: HoldersKeys, buckets: int) -> Words:
    """This member's ``x``: per bucket 256 × persons counted + persons lent to.

    Raises
    ------
    InvalidInputError
        When a bucket would overflow its word (more than 255 persons of this member in one).

    """
    counted = np.zeros(buckets, dtype=np.int64)
    lent = np.zeros(buckets, dtype=np.int64)
    for token, lends in persons.items():
        bucket = keys.bucket(token, buckets)
        counted[bucket] += 1
        lent[bucket] += int(lends)
    if counted.size and int(counted.max()) > 255:
        raise InvalidInputError(
            "too many persons share one bucket; raise holders_buckets_log2", field="buckets"
        )
    vector: Words = (counted * _MEMBER_UNIT + lent).astype(np.uint16)
    return vector


def check_value(vector: Words, check: Residues) -> int:
    """``⟨r, x⟩ mod P`` for 16-bit ``x``, without overflow (``r`` split in three 21-bit limbs).

    Only the non-zero entries of ``x`` are touched: a holders count is sparse.
    """
    present = np.flatnonzero(vector)
    values = vector[present].astype(np.uint64)
    weights = check[present]
    total = 0
    for limb in range(3):
        part = (weights >> np.uint64(_LIMB * limb)) & np.uint64((1 << _LIMB) - 1)
        total += int(np.sum(part * values, dtype=np.uint64)) << (_LIMB * limb)
    return total % P


@dataclass(frozen=True)
class HoldersCount:
    """The verified count ``c``: per bucket, members counting persons in it and lenders holding them."""

    counts: Words
    keys: HoldersKeys

    @classmethod
    def verify(cls, opened: Words, check: int, *, members: int, keys: HoldersKeys) -> HoldersCount:
        """Remove ``members · R`` and check the sum against its check value.

        Raises
        ------
        VerificationError
            When the bureau's sum does not match its check value (it was altered, or the
            members did not all use this epoch of the members' secret).

        """
        buckets = opened.size
        counts: Words = opened - (keys.common_mask(buckets) * np.uint16(members % 65536))
        expected = (check_value(counts, keys.check_vector(buckets)) + members * keys.check_mask) % P
        if expected != check % P:
            raise VerificationError(
                "the holders count does not match its check value", reason="holders_count_altered"
            )
        return cls(counts, keys)

    def members_counting(self, token: bytes) -> int:
        """How many member-person incidences the bucket of ``token`` holds (at least this person's)."""
        return int(self.counts[self.keys.bucket(token, self.counts.size)]) >> 8

    def allows(self, token: bytes, *, limit: int) -> bool:
        """Whether ``token``'s bucket is counted at most ``limit`` times (else its persons are left out)."""
        return self.members_counting(token) <= limit

    def lenders(self) -> Words:
        """Per bucket, how many lenders hold a person in it."""
        lenders: Words = self.counts & _LENDER_MASK
        return lenders


def bucket_histogram(holders: HoldersCount, classes: int) -> Counts:
    """Buckets by lenders count: 1, 2, …, ``classes − 1``, then ``classes`` or more."""
    lenders = holders.lenders().astype(np.int64)
    histogram: Counts = np.zeros(classes, dtype=np.int64)
    for count in range(1, classes):
        histogram[count - 1] = int(np.count_nonzero(lenders == count))
    histogram[classes - 1] = int(np.count_nonzero(lenders >= classes))
    return histogram


def pack_words(words: Words) -> bytes:
    """Little-endian bytes of a word vector."""
    return words.astype("<u2", copy=False).tobytes()


def unpack_words(data: bytes) -> Words:
    """Inverse of :func:`pack_words`.

    Raises
    ------
    InvalidInputError
        When the byte count is odd.

    """
    if len(data) % 2:
        raise InvalidInputError("expected whole 16-bit words", field="words")
    words: Words = np.frombuffer(data, dtype="<u2").astype(np.uint16)
    return words


def pack_check(value: int) -> bytes:
    """A check value as 8 big-endian bytes (for digests)."""
    return struct.pack(">Q", value)
