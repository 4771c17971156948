"""Operational tables: import bookkeeping, the member directory and the audit log."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gateway.roles import Role
from gateway.store.enums import AuditDecision, ImportKind
from gateway.store.models.base import Base
from gateway.store.types import UTCDateTime, enum_type


class ImportBatch(Base):
    """One run of the importer over one file, with its row counts."""

    __tablename__ = "import_batches"
    __table_args__ = (
        sa.CheckConstraint(
            "rows_read = rows_imported + rows_quarantined + rows_duplicate", name="rows_add_up"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(enum_type(ImportKind, name="kind"))
    source_file: Mapped[str] = mapped_column(sa.String(1000))
    file_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Null while the import runs, or when it stopped on an unreadable chunk.
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rows_read: Mapped[int] = mapped_column(sa.Integer(), default=0)
    rows_imported: Mapped[int] = mapped_column(sa.Integer(), default=0)
    rows_quarantined: Mapped[int] = mapped_column(sa.Integer(), default=0)
    rows_duplicate: Mapped[int] = mapped_column(sa.Integer(), default=0)


class QuarantinedRow(Base):
    """A row the importer refused, with the field and the reason; stays local.

    ``raw_row`` is the row as read (JSON object of column → text) and may hold
    PII; like ``borrowers`` it is never exported.
    """

    __tablename__ = "import_quarantine"
    # The same row of the same file is quarantined once, however often it is imported.
    __table_args__ = (sa.UniqueConstraint("file_sha256", "kind", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batches.id"), index=True)
    kind: Mapped[ImportKind] = mapped_column(enum_type(ImportKind, name="kind"))
    source_file: Mapped[str] = mapped_column(sa.String(1000))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    row_number: Mapped[int] = mapped_column(sa.Integer())
    field: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.String(500))
    raw_row: Mapped[str] = mapped_column(sa.Text())
    quarantined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Member(Base):
    """A consortium member as registered in the bureau's directory."""

    __tablename__ = "members"

    member_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, name="role"))
    address: Mapped[str] = mapped_column(sa.String(255))
    cert_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    cert_serial: Mapped[str] = mapped_column(sa.String(64))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Set at registration and refreshed by every heartbeat.
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    software_version: Mapped[str] = mapped_column(sa.String(64))
    protocol_version: Mapped[str] = mapped_column(sa.String(32))
    # Revision 0002: the member's certificate and its signed key bundle, relayed to peers
    # so that they verify the keys themselves. Null for a registration made before 0002.
    certificate_der: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    hpke_public_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    mask_public_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    keys_created_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    keys_signature: Mapped[bytes | None] = mapped_column(sa.LargeBinary())
    # Live blacklist listings the member reports contributing (reciprocity), from heartbeats.
    blacklist_listings: Mapped[int] = mapped_column(sa.Integer(), server_default=sa.text("0"))


class AuditRecord(Base):
    """One entry of the append-only, hash-chained audit log.

    The database itself rejects UPDATE and DELETE (triggers created by the
    initial migration). ``details`` is compact JSON holding tokens, references
    and counts only, never raw PII. ``prev_hash`` is unique, so two writers can
    never both extend the same entry and fork the chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (sa.UniqueConstraint("prev_hash"), {"sqlite_autoincrement": True})

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_member_id: Mapped[str] = mapped_column(sa.String(64))
    actor_role: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(100))
    resource: Mapped[str] = mapped_column(sa.String(200))
    decision: Mapped[AuditDecision] = mapped_column(enum_type(AuditDecision, name="decision"))
    reason: Mapped[str] = mapped_column(sa.String(500))
    correlation_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    details: Mapped[str] = mapped_column(sa.Text())
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Position of the entry in the node's transparency log (gateway.tlog), from 0, and the
    # RFC 9162 leaf hash committed with it; the tree over the leaves is built at checkpoint time.
    leaf_index: Mapped[int] = mapped_column(sa.BigInteger(), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))
