"""A member answering a subject-access fan-out with its own inquiries about the token.

Every member answers, with an empty list when it never queried the subject, so
that the number of envelopes says nothing about who did.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.crypto.hpke import SealedBox
from gateway.errors import InvalidInputError
from gateway.queries.inquiries.records import InquiryRecord, seal_records
from gateway.store.database import Store
from gateway.store.models import Inquiry

SUBJECT_KEY_BYTES = 32


@dataclass(frozen=True)
class CollectRequest:
    """A token and the subject's one-time public key."""

    token: bytes
    key_epoch: int
    subject_public_key: bytes


class InquiryCollector:
    """Seals this member's inquiries about a token to the subject."""

    def __init__(self, store: Store, *, member_id: str, zone: ZoneInfo) -> None:
        self._store = store
        self._member_id = member_id
        self._zone = zone

    def collect(self, request: CollectRequest) -> SealedBox:
        """This member's inquiries about ``request.token``, sealed.

        Raises
        ------
        InvalidInputError
            When the subject key or the token has the wrong size.

        """
        if len(request.subject_public_key) != SUBJECT_KEY_BYTES:
            raise InvalidInputError("expected a 32-byte X25519 public key", field="subject_public_key")
        if len(request.token) != 64:
            raise InvalidInputError("expected a 64-byte token", field="subject.value")
        query = sa.select(Inquiry.queried_at, Inquiry.reason_code).where(
            Inquiry.subject_token == request.token, Inquiry.token_key_epoch == request.key_epoch
        )
        with self._store.transaction() as session:
            records = [
                InquiryRecord(
                    row.queried_at.astimezone(self._zone).date().isoformat(),
                    self._member_id,
                    row.reason_code.value,
                )
                for row in session.execute(query)
            ]
        return seal_records(records, request.subject_public_key)
