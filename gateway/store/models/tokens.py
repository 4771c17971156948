"""Subject tokens: the OPRF tokens of a member's own borrowers, computed through the bureau.

A token names a borrower across institutions without revealing the resident ID
(ARCHITECTURE §5). It is stored next to the local borrower id so that a sealed
token arriving in a subject check can be matched to the member's own records.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.store.enums import TokenType
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class SubjectTokenRecord(Base):
    """One borrower's token under one OPRF key epoch.

    Two local borrower records of the same person (two customer numbers) share a token.
    """

    __tablename__ = "subject_tokens"
    __table_args__ = (sa.UniqueConstraint("borrower_id", "token_kind", "key_epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(sa.ForeignKey("borrowers.id"), index=True)
    token_kind: Mapped[TokenType] = mapped_column(enum_type(TokenType, name="token_kind"))
    key_epoch: Mapped[int] = mapped_column(sa.Integer())
    # 64-byte RFC 9497 OPRF output; looked up by value when a subject check arrives.
    token: Mapped[bytes] = mapped_column(sa.LargeBinary(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
