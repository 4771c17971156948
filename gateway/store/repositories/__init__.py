"""Typed repositories over the local store; each returns frozen dataclasses."""

from gateway.store.repositories.audit import AuditEntry, AuditLog
from gateway.store.repositories.credit import CreditRecords
from gateway.store.repositories.imports import (
    ImportBatchRecord,
    ImportLedger,
    QuarantineItem,
    QuarantineRecord,
)
from gateway.store.repositories.members import MemberDirectory, MemberRecord

__all__ = [
    "AuditEntry",
    "AuditLog",
    "CreditRecords",
    "ImportBatchRecord",
    "ImportLedger",
    "MemberDirectory",
    "MemberRecord",
    "QuarantineItem",
    "QuarantineRecord",
]
