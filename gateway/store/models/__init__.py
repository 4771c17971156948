"""ORM models of the local store; ``Base.metadata`` is the schema the migrations build."""

from gateway.store.models.base import Base
from gateway.store.models.checks import (
    AccessStatement,
    CachedCheckRow,
    CheckRound,
    CheckRoundInfo,
    OPRFUsage,
    ResponderRound,
)
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
from gateway.store.models.features import ModelRow
from gateway.store.models.operations import AuditRecord, ImportBatch, Member, QuarantinedRow
from gateway.store.models.peers import PeerPin, PeerPinCandidate
from gateway.store.models.reports import ReportAttempt, ReportCharge, ReportRequest
from gateway.store.models.tokens import SubjectTokenRecord
from gateway.store.models.transparency import (
    TlogCheckpoint,
    TlogEntry,
    TlogEvidence,
    TlogNode,
    TlogWitnessState,
)

__all__ = [
    "AccessStatement",
    "Account",
    "Application",
    "AuditRecord",
    "Base",
    "BlacklistEntry",
    "Borrower",
    "CachedCheckRow",
    "CheckRound",
    "CheckRoundInfo",
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
    "ModelRow",
    "OPRFUsage",
    "PeerPin",
    "PeerPinCandidate",
    "QuarantinedRow",
    "RepaymentMonth",
    "ReportAttempt",
    "ReportCharge",
    "ReportRequest",
    "ResponderRound",
    "SubjectTokenRecord",
    "TlogCheckpoint",
    "TlogEntry",
    "TlogEvidence",
    "TlogNode",
    "TlogWitnessState",
]
