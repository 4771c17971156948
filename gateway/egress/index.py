"""The exact-match index: a keyed index of this node's own PII values, scanned before anything leaves.

Detectors miss things; the index does not, for the values this node holds. It keeps
HMAC-SHA256 digests (under a node secret that never leaves the node) of every
borrower's resident ID, mobile and name in their normalised forms, and scans each
outbound plaintext field for them: digit runs (full-width folded, separators
removed) of the length of an ID or a mobile, and runs of 2–4 CJK characters for
names. A hit blocks the message even where no recognizer fired.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.errors import ConfigError, GatewayError
from gateway.identifiers import normalise_mobile, normalise_resident_id
from gateway.identifiers.text import fold_digits

if TYPE_CHECKING:
    from gateway.store.database import Store

SECRET_BYTES = 32
_DIGIT_RUN = re.compile(r"\d{11,}[Xx]?|\d{6,}[Xx]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_LENGTHS = (11, 15, 17, 18)
_NAME_LENGTHS = (2, 3, 4)


class ExactMatchIndex:
    """Keyed digests of the node's own PII and their normalised variants.

    Parameters
    ----------
    secret
        The node's index key (32 random bytes, from :func:`load_or_create_secret`).

    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) != SECRET_BYTES:
            raise ConfigError(f"the egress index key must be {SECRET_BYTES} bytes")
        self._secret = secret
        self._lock = threading.Lock()
        self._digests: frozenset[bytes] = frozenset()

    def __len__(self) -> int:
        return len(self._digests)

    def rebuild(self, values: Iterable[str]) -> None:
        """Replace the index with ``values`` (raw, as stored) and their variants."""
        digests = {self._digest(variant) for value in values for variant in variants(value)}
        with self._lock:
            self._digests = frozenset(digests)

    def rebuild_from_store(self, store: Store) -> None:
        """Index every borrower's resident ID, mobile and name and every contact number."""
        # Imported here: the index itself is pure, and a Flower ClientApp process that scans its
        # replies should not pay for SQLAlchemy and the store models until it reads a store.
        import sqlalchemy as sa

        from gateway.store.models import Borrower, ContactAttempt

        with store.transaction() as session:
            people = session.execute(sa.select(Borrower.resident_id, Borrower.mobile, Borrower.name)).all()
            numbers = session.scalars(
                sa.select(ContactAttempt.contact_number).where(ContactAttempt.contact_number.is_not(None))
            ).all()
        self.rebuild([value for row in people for value in row] + [n for n in numbers if n])

    def hits(self, text: str) -> bool:
        """Whether ``text`` contains any indexed value, in any of the scanned forms."""
        digests = self._digests
        return any(self._digest(candidate) in digests for candidate in candidates(text))

    def _digest(self, value: str) -> bytes:
        return hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).digest()


def variants(value: str) -> set[str]:
    """The forms a stored value is indexed under: as folded, and normalised if it is an ID or mobile."""
    folded = fold_digits(value).upper()
    found = {folded}
    for normalise in (normalise_resident_id, normalise_mobile):
        try:
            normal = normalise(value)
        except GatewayError:
            continue
        found.add(normal)
        if len(normal) == 18:
            found.add(normal[:17])  # the ID without its check character
            if normal[6:8] == "19":
                found.add(normal[:6] + normal[8:17])  # the legacy 15-digit form
    return found


def candidates(text: str) -> Iterator[str]:
    """Substrings of ``text`` that could be an indexed value."""
    folded = fold_digits(text).upper()
    for run in _DIGIT_RUN.findall(folded):
        for length in _LENGTHS:
            for start in range(0, len(run) - length + 1):
                yield run[start : start + length]
        if run[-1] == "X" and len(run) >= 18:
            yield run[-18:]
    for run in _CJK_RUN.findall(text):
        for length in _NAME_LENGTHS:
            for start in range(0, len(run) - length + 1):
                yield run[start : start + length]


def load_or_create_secret(path: Path) -> bytes:
    """The node's index key, created (mode 0600) on first use.

    Raises
    ------
    ConfigError
        When the key file is readable by others or has the wrong size.

    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(SECRET_BYTES))
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ConfigError(f"{path} must hold {SECRET_BYTES} bytes")
    return secret
