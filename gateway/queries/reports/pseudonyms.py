"""The multi-lender join: keyed pseudonyms of active borrowers, counted blindly by the bureau.

Each member derives, per report request, ``HMAC-SHA256(K_r, token)`` for the OPRF token of
every borrower with active debt in the period, where ``K_r = HKDF(K, request hash)`` and ``K``
is the members' pseudonym key, which the bureau never holds. The bureau can match equal
pseudonyms across members (one person at several lenders) but cannot link them to a token,
an identifier, or a pseudonym of another request. It counts, per pseudonym, how many members
sent it and keeps only the histogram of those multiplicities, in memory, for the round;
members' noise shares then make the released histogram differentially private
(``docs/reports.md`` states what each party learns).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gateway.crypto.encoding import length_prefixed
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import ConfigError, InvalidInputError
from gateway.reports.histograms import Counts
from gateway.reports.templates import Dimension

__all__ = [
    "MEMBERS_KEY_FILE",
    "PSEUDONYM_BYTES",
    "PseudonymTally",
    "load_members_key",
    "members_key_path",
    "pseudonyms_for",
    "write_members_key",
]

MEMBERS_KEY_FILE = "members-pseudonym.key"
"""Under a member's ``<data_dir>/keys/``: 32 random bytes shared by the members, never the bureau."""
PSEUDONYM_BYTES = 32
_KEY_LABEL = b"credgate/v1/lender-pseudonym"


def load_members_key(path: Path) -> bytes:
    """Read the members' pseudonym key.

    Raises
    ------
    ConfigError
        When the file is missing, readable by others, or not 32 bytes.

    """
    try:
        mode = path.stat().st_mode
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"the members' pseudonym key {path} cannot be read ({exc.strerror}); "
            "it is distributed to members with their credentials (docs/reports.md)"
        ) from exc
    if mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    if len(key) != 32:
        raise ConfigError(f"{path}: expected 32 bytes, found {len(key)}")
    return key


def members_key_path(data_dir: Path) -> Path:
    """Where a member node keeps the members' pseudonym key."""
    return data_dir / "keys" / MEMBERS_KEY_FILE


def write_members_key(path: Path, key: bytes) -> None:
    """Write the members' pseudonym key, readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)


def pseudonyms_for(members_key: bytes, request_hash: bytes, tokens: Iterable[bytes]) -> list[bytes]:
    """This request's pseudonyms of ``tokens``, sorted (so their order reveals nothing)."""
    key = hkdf_sha256(members_key, salt=request_hash, info=length_prefixed(_KEY_LABEL), length=32)
    return sorted(hmac.new(key, token, hashlib.sha256).digest() for token in set(tokens))


class PseudonymTally:
    """The bureau's in-memory count of pseudonyms per round (request hash and attempt).

    A member's pseudonyms are accepted only while its round is open and only once; the tally
    of a round is dropped when it is closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rounds: dict[tuple[bytes, int], frozenset[str]] = {}
        self._received: dict[tuple[bytes, int], dict[str, set[bytes]]] = {}

    def open(self, request_hash: bytes, attempt: int, participants: Sequence[str]) -> None:
        """Accept pseudonyms from ``participants`` for this round."""
        with self._lock:
            self._rounds[(request_hash, attempt)] = frozenset(participants)
            self._received[(request_hash, attempt)] = {}

    def add(self, member_id: str, request_hash: bytes, attempt: int, pseudonyms: Sequence[bytes]) -> int:
        """Record one member's pseudonyms; returns how many it has sent in this round.

        Raises
        ------
        InvalidInputError
            When no such round is open, the member is not a participant, or a pseudonym
            is not 32 bytes.

        """
        if any(len(p) != PSEUDONYM_BYTES for p in pseudonyms):
            raise InvalidInputError(f"expected {PSEUDONYM_BYTES}-byte pseudonyms", field="pseudonyms")
        key = (request_hash, attempt)
        with self._lock:
            if member_id not in self._rounds.get(key, frozenset()):
                raise InvalidInputError(
                    "no open report round names this member for this request and attempt",
                    field="request_hash",
                )
            received = self._received[key].setdefault(member_id, set())
            received.update(pseudonyms)
            return len(received)

    def close(self, request_hash: bytes, attempt: int, dimension: Dimension) -> Counts:
        """Forget the round's pseudonyms, returning only the histogram of their multiplicities."""
        key = (request_hash, attempt)
        with self._lock:
            self._rounds.pop(key, None)
            received = self._received.pop(key, {})
        multiplicity = Counter(p for pseudonyms in received.values() for p in pseudonyms)
        counts = np.zeros(len(dimension.cells), dtype=np.int64)
        for holders, borrowers in Counter(multiplicity.values()).items():
            counts[dimension.bucket(holders)] += borrowers
        return counts
