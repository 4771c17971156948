"""ORM models of the local store; ``Base.metadata`` is the schema the migrations build."""

from gateway.store.models.base import Base
from gateway.store.models.checks import CachedCheckRow, CheckRound
from gateway.store.models.complaints import Complaint, ComplaintEvent
from gateway.store.models.conduct import ConductFlagRecord, ConductScreening
from gateway.store.models.contact import (
    ContactClearanceRecord,
    ContactDayEpoch,
    ContactEntrustment,
    ContactFlag,
    ContactFlagBatch,
    ContactFlagTagRecord,
    ContactGrantRecord,
    ContactRequestRecord,
    ContactReservation,
)
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
from gateway.store.models.operations import AuditRecord, ImportBatch, Member, QuarantinedRow
from gateway.store.models.tokens import SubjectTokenRecord
from gateway.store.models.transparency import (
    TlogCheckpoint,
    TlogEntry,
    TlogEvidence,
    TlogNode,
    TlogWitnessState,
)

__all__ = [
    "Account",
    "Application",
    "AuditRecord",
    "Base",
    "BlacklistEntry",
    "Borrower",
    "CachedCheckRow",
    "CheckRound",
    "Complaint",
    "ComplaintEvent",
    "ConductFlagRecord",
    "ConductScreening",
    "Consent",
    "ContactAttempt",
    "ContactClearanceRecord",
    "ContactDayEpoch",
    "ContactEntrustment",
    "ContactFlag",
    "ContactFlagBatch",
    "ContactFlagTagRecord",
    "ContactGrantRecord",
    "ContactRequestRecord",
    "ContactReservation",
    "ImportBatch",
    "Inquiry",
    "Member",
    "QuarantinedRow",
    "RepaymentMonth",
    "SubjectTokenRecord",
    "TlogCheckpoint",
    "TlogEntry",
    "TlogEvidence",
    "TlogNode",
    "TlogWitnessState",
]
