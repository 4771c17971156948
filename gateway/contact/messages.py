"""Domain values of contact clearance: what members send and what the bureau answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gateway.contact.keys import TAG_BYTES
from gateway.errors import InvalidInputError
from gateway.store.enums import ClearanceDecision, ContactChannel, ContactFlagKind, ContactParty

__all__ = [
    "RESERVATION_ID_BYTES",
    "ClearanceAnswer",
    "ClearanceRequest",
    "ContactTags",
    "EntrustmentGrant",
    "FlagTag",
    "OutcomeAnswer",
    "OutcomeRecord",
]

RESERVATION_ID_BYTES = 16
GRANT_VERSION = 1


@dataclass(frozen=True)
class ContactTags:
    """The per-day keyed tags naming the debtor and (for calls and SMS) the number."""

    local_day: int
    tag_key_epoch: int
    token_key_epoch: int
    debtor_tag: bytes
    number_tag: bytes | None

    def __post_init__(self) -> None:
        """Validate sizes at construction (STYLE §3)."""
        if len(self.debtor_tag) != TAG_BYTES:
            raise InvalidInputError(
                f"expected {TAG_BYTES} bytes, received {len(self.debtor_tag)}", field="tags.debtor_tag"
            )
        if self.number_tag is not None and len(self.number_tag) != TAG_BYTES:
            raise InvalidInputError(
                f"expected {TAG_BYTES} bytes, received {len(self.number_tag)}", field="tags.number_tag"
            )
        if self.tag_key_epoch < 1:
            raise InvalidInputError("expected an epoch >= 1", field="tags.tag_key_epoch")
        if self.local_day < 1:
            raise InvalidInputError("expected a day after 1970-01-01", field="tags.local_day")


@dataclass(frozen=True)
class EntrustmentGrant:
    """A lender's signed statement entrusting one debtor (by day tag) to an agency for one day."""

    lender_member_id: str
    agency_member_id: str
    local_day: int
    tag_key_epoch: int
    debtor_tag: bytes
    channels: frozenset[ContactChannel]
    third_party_allowed: bool
    lender_certificate_der: bytes
    signature: bytes
    version: int = GRANT_VERSION


@dataclass(frozen=True)
class ClearanceRequest:
    """A member asks whether this contact may happen now."""

    idempotency_key: bytes
    channel: ContactChannel
    party: ContactParty
    tags: ContactTags
    grant: EntrustmentGrant | None = None
    collectors: int = 1
    # Set when the request carried SubjectToken fields: refused, tokens never reach the bureau.
    carried_tokens: bool = False


@dataclass(frozen=True)
class ClearanceAnswer:
    """The bureau's decision; a grant carries its reservation."""

    decision: ClearanceDecision
    reservation_id: bytes | None = None
    expires_at: dt.datetime | None = None
    retry_after: dt.datetime | None = None
    tag_key_epoch: int = 0
    replayed: bool = False

    @property
    def granted(self) -> bool:
        """Whether the contact may go ahead."""
        return self.decision is ClearanceDecision.GRANTED


@dataclass(frozen=True)
class OutcomeRecord:
    """What happened on a cleared contact (or that it was not made)."""

    reservation_id: bytes
    connected: bool
    attempted_at: dt.datetime | None
    released: bool = False


@dataclass(frozen=True)
class OutcomeAnswer:
    """The bureau's acknowledgement of an outcome."""

    recorded: bool
    already_recorded: bool = False
    late: bool = False


@dataclass(frozen=True)
class FlagTag:
    """One standing flag as published for one day: a tag, never a token or a person."""

    tag: bytes
    kind: ContactFlagKind
    scope_lender: str | None = None
    agency: str | None = None

    def __post_init__(self) -> None:
        """Validate the tag size."""
        if len(self.tag) != TAG_BYTES:
            raise InvalidInputError(
                f"expected {TAG_BYTES} bytes, received {len(self.tag)}", field="flags.tag"
            )
