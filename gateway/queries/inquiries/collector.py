"""A member answering a subject-access fan-out with its own inquiries about the subject.

1. Verify the relaying member's signed statement against its pinned certificate (a member
   role), that it is fresh and names the subject key the request carries.
2. Open the token sealed to this member (HPKE, ``info`` binding the statement and this
   member) and check the statement's keyed lookup tag against it.
3. Record the statement durably (a statement is answered once) and refuse beyond
   ``max_per_relayer_per_day`` statements of one relayer per local day; both audited.
4. Seal this member's inquiries about the token to the subject's key.

Every member answers, with an empty list when it never queried the subject, so that the
number of envelopes says nothing about who did.
"""

from __future__ import annotations

import datetime as dt
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.hpke import SealedBox, open_sealed
from gateway.crypto.keys import NodeKeys
from gateway.crypto.members_secret import MembersSecretStore
from gateway.crypto.signatures import SignatureInvalid, verify_with_certificate
from gateway.errors import GatewayError, InvalidInputError, ProtocolRefused, RateLimited
from gateway.identity.tls import TLSIdentity
from gateway.node.pins import PinStore
from gateway.queries.inquiries.records import InquiryRecord, seal_records
from gateway.queries.inquiries.statement import (
    SIGNATURE_LABEL,
    AccessStatement,
    check_lookup_tag,
    parse_token_plaintext,
    sealed_token_info,
)
from gateway.queries.subject_check.messages import SealedFor
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.models import AccessStatement as AccessStatementRow
from gateway.store.models import Inquiry

SUBJECT_KEY_BYTES = 32
COLLECT_ACTION = "subject_inquiries.answer"
FRESHNESS = dt.timedelta(minutes=10)
RELAYER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})


@dataclass(frozen=True)
class CollectRequest:
    """The relayer's signed statement, the subject's key and the token sealed to this member."""

    statement: bytes
    signature: bytes
    subject_public_key: bytes
    sealed: SealedFor


class InquiryCollector:
    """Seals this member's inquiries about a subject to the subject, for a verified relayer."""

    def __init__(
        self,
        store: Store,
        *,
        identity: TLSIdentity,
        keys: NodeKeys,
        pins: PinStore,
        secrets: MembersSecretStore,
        settings: SubjectCheckSettings,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._store = store
        self._identity = identity
        self._member_id = identity.own.member_id
        self._keys = keys
        self._pins = pins
        self._secrets = secrets
        self._settings = settings
        self._audit = audit
        self._clock = clock

    def collect(self, request: CollectRequest) -> SealedBox:
        """This member's inquiries about the sealed token, sealed to the subject.

        Raises
        ------
        InvalidInputError
            When a field is malformed (names it).
        ProtocolRefused
            When the statement does not verify, is stale or replayed, or the token does not match it.
        RateLimited
            When the relayer exceeded its daily statements at this member.

        """
        try:
            statement, token, epoch = self._admit(request)
        except GatewayError as exc:
            self._record(Outcome.DENY, exc.reason, {"why": exc.message[:200]})
            raise
        query = sa.select(Inquiry.queried_at, Inquiry.reason_code).where(
            Inquiry.subject_token == token, Inquiry.token_key_epoch == epoch
        )
        zone = self._settings.zone
        with self._store.transaction() as session:
            records = [
                InquiryRecord(
                    row.queried_at.astimezone(zone).date().isoformat(), self._member_id, row.reason_code.value
                )
                for row in session.execute(query)
            ]
        self._record(
            Outcome.ALLOW,
            "relayed_statement",
            {
                "relayer": statement.relayer,
                "lookup_tag": statement.lookup_tag.hex()[:32],
                "consent_digest": statement.consent_digest.hex(),
            },
        )
        return seal_records(records, request.subject_public_key)

    def _admit(self, request: CollectRequest) -> tuple[AccessStatement, bytes, int]:
        if len(request.subject_public_key) != SUBJECT_KEY_BYTES:
            raise InvalidInputError("expected a 32-byte X25519 public key", field="subject_public_key")
        statement = AccessStatement.from_bytes(request.statement)
        if statement.subject_public_key != request.subject_public_key:
            raise ProtocolRefused("the statement names another subject key", reason="statement_mismatch")
        now = self._clock()
        if abs(now - statement.issued_at) > FRESHNESS:
            raise ProtocolRefused("the statement is not fresh", reason="stale_statement")
        self._verify_signature(statement, request.signature)
        if request.sealed.recipient != self._member_id:
            raise InvalidInputError("the token is sealed to another member", field="sealed")
        plaintext = open_sealed(
            self._keys.hpke.private_key,
            SealedBox(request.sealed.enc, request.sealed.ciphertext),
            info=sealed_token_info(statement.digest(), self._member_id),
            aad=b"",
        )
        token, epoch = parse_token_plaintext(plaintext)
        try:
            check_lookup_tag(self._secrets.get(statement.secret_epoch), token, epoch, statement.lookup_tag)
        except InvalidInputError as exc:
            raise ProtocolRefused(exc.message, reason="lookup_tag_mismatch") from exc
        self._count(statement, now)
        return statement, token, epoch

    def _verify_signature(self, statement: AccessStatement, signature: bytes) -> None:
        try:
            relayer = self._pins.get([statement.relayer])[statement.relayer]
        except GatewayError as exc:
            raise ProtocolRefused("the relayer is not a pinned member", reason="unknown_relayer") from exc
        if relayer.role not in RELAYER_ROLES:
            raise ProtocolRefused(
                f"a {relayer.role.value} may not relay subject access", reason="relayer_role"
            )
        pem = ssl.DER_cert_to_PEM_cert(relayer.certificate_der).encode("ascii")
        try:
            signer = verify_with_certificate(
                SIGNATURE_LABEL,
                statement.to_bytes(),
                signature,
                pem,
                ca_certificate_pem=self._identity.ca_pem,
                now=self._clock(),
                revocation=self._identity.revocations,
            )
        except SignatureInvalid as exc:
            raise ProtocolRefused(
                "the relayer's statement does not verify", reason="statement_signature"
            ) from exc
        if signer.member_id != statement.relayer:
            raise ProtocolRefused("the statement is signed by another member", reason="statement_signature")

    def _count(self, statement: AccessStatement, now: dt.datetime) -> None:
        day = now.astimezone(self._settings.zone).date()
        limit = self._settings.subject_access.max_per_relayer_per_day
        with self._store.transaction() as session:
            if session.get(AccessStatementRow, statement.digest()) is not None:
                raise ProtocolRefused("this statement was already answered", reason="statement_replayed")
            used = session.scalar(
                sa.select(sa.func.count()).where(
                    AccessStatementRow.relayer_member_id == statement.relayer,
                    AccessStatementRow.local_day == day,
                )
            )
            if int(used or 0) >= limit:
                raise RateLimited(
                    f"{statement.relayer} relayed {used} subject-access requests today (limit {limit})",
                    reason="subject_access_limit",
                )
            session.add(
                AccessStatementRow(
                    statement_hash=statement.digest(),
                    relayer_member_id=statement.relayer,
                    local_day=day,
                    lookup_tag=statement.lookup_tag,
                    received_at=now,
                )
            )

    def _record(self, outcome: Outcome, reason: str, details: dict[str, str | int]) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                self._identity.own,
                action=COLLECT_ACTION,
                outcome=outcome,
                reason=reason,
                correlation_id=uuid.uuid4().hex,
                details=details,
            )
        )
