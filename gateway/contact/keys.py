"""Per-day keys for contact tags, derived from the members-only secret (the bureau never holds it).

A contact tag names a debtor or a number to the bureau for one consortium-local day only:
``tag = HMAC-SHA256(K_day, label ‖ OPRF token)`` with ``K_day`` derived for that day. The
bureau holds the OPRF key, so it could compute any person's token, but without the members'
secret it can compute no tag; and keys of different days are independent (RFC 5869 §3.2,
distinct ``info``), so a tag says nothing about the same person's tag on another day.

Keys come from a :class:`DailyKeyProvider`; at a member, :class:`MembersSecretDailyKeys`
derives them from the members' secret of the subject-check hardening (issue #11), purpose
``"contact-clearance"``. Requests carry the secret's epoch (``tag_key_epoch``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Protocol

from gateway.crypto.encoding import length_prefixed
from gateway.crypto.members_secret import MembersSecretStore
from gateway.errors import InvalidInputError

__all__ = [
    "CONTACT_PURPOSE",
    "TAG_BYTES",
    "DailyKeyProvider",
    "MembersSecretDailyKeys",
    "day_from_number",
    "debtor_tag",
    "local_day_number",
    "number_tag",
]

TAG_BYTES = 32
# The purpose registered for contact tags in ``gateway.crypto.members_secret.PURPOSES``.
CONTACT_PURPOSE = "contact-clearance"
_DEBTOR = b"debtor"
_NUMBER = b"number"
_EPOCH_ZERO = dt.date(1970, 1, 1)


class DailyKeyProvider(Protocol):
    """Per-purpose, per-day keys from the members-only secret.

    Implementations MUST derive a key that depends on the epoch, the purpose and the day,
    MUST NOT be computable without the members' secret, and MUST return the same key to
    every member for the same (epoch, day).
    """

    def current_epoch(self) -> int:
        """The newest epoch of the members' secret this member holds."""

    def holds(self, epoch: int) -> bool:
        """Whether this member holds ``epoch``."""

    def key_for(self, day: dt.date, *, epoch: int) -> bytes:
        """The 32-byte contact-clearance key of local ``day`` under ``epoch``.

        Raises
        ------
        NotFoundError
            When this member does not hold ``epoch``.

        """


class MembersSecretDailyKeys:
    """Day keys from the members' secret of issue #11 (``MembersSecretStore``).

    ``K_day = store.get(epoch).derive("contact-clearance", day.isoformat())``: HKDF-SHA256 over
    the epoch's secret with ``info = label ‖ purpose ‖ epoch ‖ day`` (``MembersSecret.derive``).
    Every member holding the epoch (handed out by the ceremony, ``credgate members-secret
    create``) derives the same key; the bureau, which relays the ceremony's sealed envelopes
    but never opens them, can derive none.

    Parameters
    ----------
    store
        The epochs this member holds.

    """

    def __init__(self, store: MembersSecretStore) -> None:
        self._store = store

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> MembersSecretDailyKeys:
        """The provider of a member whose data folder is ``data_dir``."""
        return cls(MembersSecretStore.for_data_dir(data_dir))

    def current_epoch(self) -> int:
        """The newest epoch held.

        Raises
        ------
        ConfigError
            When no epoch is held yet (the ceremony has not reached this member).

        """
        return self._store.current().epoch

    def holds(self, epoch: int) -> bool:
        """Whether this member holds ``epoch``."""
        return epoch in self._store.epochs

    def key_for(self, day: dt.date, *, epoch: int) -> bytes:
        """The day's key under ``epoch``.

        Raises
        ------
        NotFoundError
            When this member does not hold ``epoch``.
        ConfigError
            When the epoch's file is malformed or readable by others.

        """
        return self._store.get(epoch).derive(CONTACT_PURPOSE, day.isoformat().encode("ascii"))


def debtor_tag(day_key: bytes, token: bytes) -> bytes:
    """The day's tag of a debtor: ``HMAC-SHA256(K_day, "debtor" ‖ token)``."""
    return _tag(day_key, _DEBTOR, token)


def number_tag(day_key: bytes, token: bytes) -> bytes:
    """The day's tag of a contact number: ``HMAC-SHA256(K_day, "number" ‖ mobile token)``."""
    return _tag(day_key, _NUMBER, token)


def _tag(day_key: bytes, label: bytes, token: bytes) -> bytes:
    if len(day_key) != 32:
        raise InvalidInputError(f"expected a 32-byte day key, received {len(day_key)}", field="day_key")
    if not token:
        raise InvalidInputError("expected a token", field="token")
    return hmac.new(day_key, length_prefixed(label) + token, hashlib.sha256).digest()


def local_day_number(day: dt.date) -> int:
    """``day`` as days since 1970-01-01 (how ``local_day`` travels)."""
    return (day - _EPOCH_ZERO).days


def day_from_number(number: int) -> dt.date:
    """Inverse of :func:`local_day_number`."""
    return _EPOCH_ZERO + dt.timedelta(days=number)
