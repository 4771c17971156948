"""ORM models of the local store; ``Base.metadata`` is the schema the migrations build."""

from gateway.store.models.base import Base
from gateway.store.models.checks import CachedCheckRow, CheckRound
from gateway.store.models.credit import (
    Account,
    Application,
    BlacklistEntry,
    Borrower,
    Consent,
    ContactAttempt,
    Inquiry,
    RepaymentMonth,
)
from gateway.store.models.features import ModelRow
from gateway.store.models.operations import AuditRecord, ImportBatch, Member, QuarantinedRow
from gateway.store.models.tokens import SubjectTokenRecord

__all__ = [
    "Account",
    "Application",
    "AuditRecord",
    "Base",
    "BlacklistEntry",
    "Borrower",
    "CachedCheckRow",
    "CheckRound",
    "Consent",
    "ContactAttempt",
    "ImportBatch",
    "Inquiry",
    "Member",
    "ModelRow",
    "QuarantinedRow",
    "RepaymentMonth",
    "SubjectTokenRecord",
]
