"""Per-day keys for contact tags, derived from the members-only secret (the bureau never holds it).

A contact tag names a debtor or a number to the bureau for one consortium-local day only:
``tag = HMAC-SHA256(K_day, label ‖ OPRF token)`` with ``K_day`` derived for that day. The
bureau holds the OPRF key, so it could compute any person's token, but without the members'
secret it can compute no tag; and keys of different days are independent (RFC 5869 §3.2,
distinct ``info``), so a tag says nothing about the same person's tag on another day.

Keys come from a :class:`DailyKeyProvider`. Until the members-secret ceremony of the subject
check hardening (issue #11) is merged, :class:`MembersKeyDailyKeys` derives them from the
members' key every provisioned member already holds (``keys/members-pseudonym.key``), as
epoch 1. At merge the provider is swapped for one over ``MembersSecretStore`` with purpose
``"contact-clearance"`` (``/work/wt/NOTES.md``); nothing else changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Protocol

from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.crypto.primitives import hkdf_sha256
from gateway.errors import InvalidInputError, NotFoundError
from gateway.queries.reports.pseudonyms import load_members_key, members_key_path

__all__ = [
    "TAG_BYTES",
    "DailyKeyProvider",
    "MembersKeyDailyKeys",
    "day_from_number",
    "debtor_tag",
    "local_day_number",
    "number_tag",
]

TAG_BYTES = 32
_PURPOSE = b"credgate/v1/contact-clearance"
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


class MembersKeyDailyKeys:
    """Day keys from the members' key file every provisioned member holds (epoch 1).

    Parameters
    ----------
    members_key
        The 32-byte members' key (``keys/members-pseudonym.key``), never held by the bureau.

    """

    EPOCH = 1

    def __init__(self, members_key: bytes) -> None:
        if len(members_key) != 32:
            raise InvalidInputError(f"expected 32 bytes, received {len(members_key)}", field="members_key")
        self._key = members_key

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> MembersKeyDailyKeys:
        """The provider of a member whose data folder is ``data_dir``.

        Raises
        ------
        ConfigError
            When the members' key is missing or unsafe.

        """
        return cls(load_members_key(members_key_path(data_dir)))

    def current_epoch(self) -> int:
        """Always epoch 1: the key file has no epochs."""
        return self.EPOCH

    def holds(self, epoch: int) -> bool:
        """Whether ``epoch`` is 1."""
        return epoch == self.EPOCH

    def key_for(self, day: dt.date, *, epoch: int) -> bytes:
        """``HKDF-SHA256(members_key, info = label ‖ epoch ‖ day)``.

        Raises
        ------
        NotFoundError
            For any epoch but 1.

        """
        if epoch != self.EPOCH:
            raise NotFoundError(
                f"this member does not hold epoch {epoch} of the members' secret",
                reason="members_secret_epoch_unknown",
            )
        info = length_prefixed(_PURPOSE) + i2osp(epoch, 4) + length_prefixed(day.isoformat().encode("ascii"))
        return hkdf_sha256(self._key, salt=None, info=info, length=32)


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
