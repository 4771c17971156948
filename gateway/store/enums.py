"""Closed vocabularies stored in the local store and shared by the whole node.

Every enum is a :class:`enum.StrEnum` whose values are the exact strings kept
in the database, written in import files and named in policies, so other
subsystems import them from here instead of repeating the strings.
"""

from __future__ import annotations

from enum import StrEnum


class Segment(StrEnum):
    """Lending segment of an account or application."""

    BANK = "bank"
    CONSUMER_FINANCE = "consumer_finance"
    MICRO_LOAN = "micro_loan"
    CREDIT_CARD = "credit_card"
    OTHER = "other"


class AccountStatus(StrEnum):
    """Life-cycle state of an account."""

    ACTIVE = "active"
    CLOSED = "closed"
    CHARGED_OFF = "charged_off"
    WRITTEN_OFF = "written_off"


class Gender(StrEnum):
    """Gender as recorded by the member (optional)."""

    MALE = "male"
    FEMALE = "female"


class Education(StrEnum):
    """Highest education level as recorded by the member (optional)."""

    GRADUATE = "graduate"
    UNIVERSITY = "university"
    HIGH_SCHOOL = "high_school"
    OTHER = "other"
    UNKNOWN = "unknown"


class MaritalStatus(StrEnum):
    """Marital status as recorded by the member (optional)."""

    MARRIED = "married"
    SINGLE = "single"
    OTHER = "other"
    UNKNOWN = "unknown"


class Decision(StrEnum):
    """Outcome of a credit application."""

    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"


class ContactChannel(StrEnum):
    """Channel of a collection contact attempt; AI voice calls count as calls."""

    PHONE = "phone"
    SMS = "sms"
    AI_VOICE = "ai_voice"
    VISIT = "visit"
    LETTER = "letter"
    APP_MESSAGE = "app_message"


class BlacklistReason(StrEnum):
    """Why a subject was listed; the closed set the consortium accepts."""

    FRAUD = "fraud"
    IDENTITY_THEFT = "identity_theft"
    MALICIOUS_EVASION = "malicious_evasion"
    COURT_DISHONEST_DEBTOR = "court_dishonest_debtor"


class AppealState(StrEnum):
    """State of the subject's appeal against a blacklist entry."""

    NONE = "none"
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class ReasonCode(StrEnum):
    """Purpose of a query or consent (征信查询原因), a closed set.

    A consent names one purpose and a query must state one; policies match on
    these exact strings.
    """

    POST_LOAN_MANAGEMENT = "post_loan_management"
    LOAN_APPROVAL = "loan_approval"
    CREDIT_CARD_APPROVAL = "credit_card_approval"
    GUARANTEE_QUALIFICATION_REVIEW = "guarantee_qualification_review"
    PRE_GUARANTEE_REVIEW = "pre_guarantee_review"
    POST_GUARANTEE_MANAGEMENT = "post_guarantee_management"
    CUSTOMER_ADMISSION_REVIEW = "customer_admission_review"
    FINANCING_APPROVAL = "financing_approval"
    CREDIT_REVIEW = "credit_review"
    CREDIT_LINE_APPROVAL = "credit_line_approval"
    COLLECTION_CASE_CHECK = "collection_case_check"


class AuditDecision(StrEnum):
    """Outcome recorded for an audited action."""

    ALLOW = "allow"
    DENY = "deny"
    ERROR = "error"


class ImportKind(StrEnum):
    """Kinds of file the importer accepts; each maps to one table."""

    BORROWERS = "borrowers"
    ACCOUNTS = "accounts"
    APPLICATIONS = "applications"
    CONTACTS = "contacts"
    BLACKLIST = "blacklist"
    CONSENTS = "consents"
    #: A member's own model columns (a feature spec's columns), into ``model_rows``.
    FEATURES = "features"


#: The kinds that hold credit records (every kind but ``features``), in import order.
RECORD_KINDS = (
    ImportKind.BORROWERS,
    ImportKind.ACCOUNTS,
    ImportKind.APPLICATIONS,
    ImportKind.CONTACTS,
    ImportKind.BLACKLIST,
    ImportKind.CONSENTS,
)


class TokenType(StrEnum):
    """What a subject token was computed from (``credgate.v1.TokenType``)."""

    RESIDENT_ID = "resident_id"
    MOBILE = "mobile"


class ReportAttemptState(StrEnum):
    """Where one answered report attempt stands at the member that answered it (issue #13)."""

    # Answered and charged; its self-mask not revealed yet.
    ANSWERED = "answered"
    # Its self-mask was revealed: the bureau can open its sum. At most one per request and phase.
    OPENED = "opened"
    # Refunded: another attempt of its phase was opened (or its request closed), so this
    # member will never reveal its self-mask and the sum it was in can never be opened.
    CLOSED = "closed"


class ContactParty(StrEnum):
    """Who a collection contact reaches: the debtor, or a third party about them."""

    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"


class ClearanceDecision(StrEnum):
    """The bureau's answer to a contact clearance (``credgate.v1.ClearanceDecision``).

    Every refusal names the rule that stopped the contact; none names a member.
    """

    GRANTED = "granted"
    QUIET_HOURS = "quiet_hours"
    CONNECTED_CAP = "connected_cap"
    UNANSWERED_CAP = "unanswered_cap"
    DISPUTE_OR_DO_NOT_CONTACT = "dispute_or_do_not_contact"
    DECEASED = "deceased"
    NOT_ENTRUSTED = "not_entrusted"
    THIRD_PARTY = "third_party"
    VISIT_COLLECTORS = "visit_collectors"
    TAG_EPOCH = "tag_epoch"
    FLAGS_UNAVAILABLE = "flags_unavailable"


class ContactFlagKind(StrEnum):
    """Standing flags that stop collection contact (``policies/contact_rules.toml`` scopes)."""

    DISPUTE = "dispute"
    DO_NOT_CONTACT = "do_not_contact"
    DECEASED = "deceased"
    THIRD_PARTY_REFUSED = "third_party_refused"
    ENTRUSTMENT_ENDED = "entrustment_ended"


class ReservationState(StrEnum):
    """Life of a reserved contact slot at the bureau."""

    OPEN = "open"
    CONNECTED = "connected"
    UNANSWERED = "unanswered"
    RELEASED = "released"


class ComplaintCategory(StrEnum):
    """Complaint categories of the regulator's complaint statistics (投诉分类)."""

    ATTITUDE_OR_EXCESSIVE = "attitude_or_excessive"  # 态度恶劣/过度催收
    INFORMATION_LEAK = "information_leak"  # 信息泄露
    HARASSING_CONTACTS = "harassing_contacts"  # 骚扰亲友
    COMPLIANCE_DISPUTE = "compliance_dispute"  # 合规争议
    OTHER = "other"


class ComplaintGrade(StrEnum):
    """Severity grade of a complaint; serious ones are escalated."""

    MINOR = "minor"
    MODERATE = "moderate"
    SERIOUS = "serious"


class ComplaintChannel(StrEnum):
    """How a complaint reached the member."""

    PHONE = "phone"
    APP = "app"
    BRANCH = "branch"
    LETTER = "letter"
    EMAIL = "email"
    REGULATOR_REFERRAL = "regulator_referral"


class ComplaintState(StrEnum):
    """Where a complaint stands in its loop (投诉闭环)."""

    OPEN = "open"
    RESPONDED = "responded"
    PLANNED = "planned"
    CLOSED = "closed"


class ComplaintOutcome(StrEnum):
    """How a closed complaint ended."""

    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"


class ConductSource(StrEnum):
    """What a conduct screening read: a call transcript or a collector's note."""

    TRANSCRIPT = "transcript"
    NOTE = "note"


class RoundState(StrEnum):
    """A responder's state for one (request, attempt) of a subject check."""

    ANSWERED = "answered"
    FINALIZED = "finalized"
