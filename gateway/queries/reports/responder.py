"""A member answering a report round: verify, decide, compute, charge, mask — and open once.

For every share the bureau asks for (issue #13):

1. The regulator's signed order is verified against the consortium CA: the certificate must be
   a regulator's, and the ledger is keyed on the identity it names. The request hash is
   recomputed from the order; a request the regulator did not sign is refused before anything.
2. The member's own Cedar policy decides whether it answers the template (``report.answer``).
3. Its durable state (``gateway.reports.ledger``) decides whether the attempt may be answered:
   a retry of an answered attempt gets the stored share; attempts only move forward, sets only
   shrink, phases come in order (3, 1, 2), and nothing is answered in a phase once one of its
   attempts was opened.
4. The share is computed — phase 3: the holders count (``holders.py``); phase 1: the bounded
   counts of persons the holders count allows, the measured totals and the institution
   indicators; phase 2: the dominance flags against the phase-1 noisy totals — with a fresh
   Skellam share per vector sized for the members answering this attempt less the colluders,
   and masked pairwise and with a self-mask.
5. Then, in one transaction, the share is stored and the attempt charged; a charge the budget
   cannot take stores nothing and sends nothing.

``open`` reveals an attempt's self-mask seed so the bureau can open its sum: at most one
attempt per request and phase, after which every other attempt of the phase is refunded.

Only masked vectors and self-mask seeds of opened attempts leave; exact counts never do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from gateway.aggregation import MaskContext, answering_set_hash, mask_contribution
from gateway.aggregation.context import canonical_order
from gateway.aggregation.field import P, Residues, SignedValues, add_into, check_residues
from gateway.aggregation.self_mask import self_mask, self_mask_seed
from gateway.aggregation.words import Words, expand_words, pairwise_words
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.keys import NodeKeys
from gateway.crypto.members_secret import MembersSecret
from gateway.errors import InvalidInputError, PolicyDenied, ProtocolRefused
from gateway.identity.peer import Peer
from gateway.identity.revocation import RevocationList
from gateway.node.pins import PinStore
from gateway.policy import PolicyDecisionPoint
from gateway.policy.contact_rules import ContactRules
from gateway.queries.reports.holders import (
    SELF_WORDS_LABEL,
    HoldersCount,
    HoldersKeys,
    bucket_histogram,
    check_value,
    holders_vector,
    pack_words,
    unpack_words,
)
from gateway.queries.reports.messages import (
    OpenRequest,
    Phase,
    ShareLayout,
    ShareRequest,
    context_hash,
    totals_digest,
)
from gateway.reports.histograms import Counts, Period, PersonKeys, compute_histograms, persons_counted
from gateway.reports.ledger import AttemptRecord, PhaseRules, ReportLedger, ShareIdentity
from gateway.reports.noise import NoiseShareSource
from gateway.reports.order import VerifiedOrder, verify_order
from gateway.reports.release import ReleasePlan, dominance_flags, institution_indicators, plan_release
from gateway.reports.templates import Feed, ReportTemplate, load_template
from gateway.roles import Role
from gateway.rpc.deadline import answering_within
from gateway.store.database import Store
from gateway.store.enums import TokenType
from gateway.store.repositories.tokens import SubjectTokens

ANSWER_ACTION = "report.answer"
BUDGET_ACTION = "report.budget_charge"


class HoldersChannel(Protocol):
    """This member's calls to the bureau for the holders count."""

    def contribute_report_vector(self, request_hash: bytes, attempt: int, words: bytes) -> int:
        """Stream a masked vector; returns how many words the bureau holds."""

    def fetch_report_vector(self, request_hash: bytes) -> tuple[bytes, int]:
        """The opened sum (still members-masked) and its check value."""


@dataclass(frozen=True)
class ResponderContext:
    """Who this member is, what it keeps, and what it trusts."""

    member_id: str
    role: Role
    store: Store
    keys: NodeKeys
    policies_dir: Path
    ca_certificate_pem: bytes
    revocations: RevocationList


class ReportResponder:
    """Computes this member's noised, masked share of a report round, and opens it once."""

    def __init__(
        self,
        context: ResponderContext,
        *,
        peers: PinStore,
        policy: PolicyDecisionPoint,
        ledger: ReportLedger,
        noise: NoiseShareSource,
        holders: HoldersChannel,
        members_secret: Callable[[], MembersSecret],
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._me = context
        self._peers = peers
        self._policy = policy
        self._ledger = ledger
        self._noise = noise
        self._holders = holders
        self._secret = members_secret
        self._audit = audit
        self._clock = clock

    def share(
        self, caller: Peer, request: ShareRequest, *, correlation_id: str, time_left: float | None
    ) -> Residues:
        """The masked share for ``request`` (phase 3: the masked check value; the vector is streamed).

        Raises
        ------
        IdentityError
            When the regulator's order does not verify.
        PolicyDenied
            When the order is not a regulator's, or this member's policy does not answer the template.
        ProtocolRefused
            When the attempt breaks a rule of the member's per-request state.
        RateLimited
            When the answer would exceed this member's budget.
        AlreadyReleasedError
            When an earlier request released this report.
        VerificationError
            When the bureau's holders count does not verify.
        InvalidInputError
            When the request is malformed (names the field).

        ``time_left`` is what the bureau's call leaves (seconds; ``None``: no deadline): every
        call this member makes back to the bureau while answering takes what remains of it.

        """
        with answering_within(time_left):
            return self._share(caller, request, correlation_id=correlation_id)

    def _share(self, caller: Peer, request: ShareRequest, *, correlation_id: str) -> Residues:
        try:
            order, template = self._verified(request)
            self._check_round(request)
            self._authorize(caller, request, correlation_id)
        except PolicyDenied:
            self._record(caller, request, Outcome.DENY, correlation_id)
            raise
        plan = plan_release(template, answering=len(request.participants))
        rules = PhaseRules(template.round.max_attempts, _phase_rho(plan, request.phase))
        if request.phase is Phase.HOLDERS:
            return self._holders_share(order, template, request, rules, caller, correlation_id)
        holders = self._verified_holders(template, request)
        inputs = hashlib.sha256(holders.counts.tobytes()).digest()
        if request.phase is Phase.DOMINANCE:
            inputs += totals_digest(request.noisy_totals)
        identity = self._identity(request, template, inputs)
        stored = self._ledger.stored(order, identity, rules)
        if stored is None:
            values = self._values(template, plan, holders, request)
            masked = self._mask(values, identity, request)
            stored = self._ledger.record(order, identity, rules, masked.astype("<u8").tobytes())
            if rules.rho > 0:
                self._record_charge(caller, order, request, rules.rho, correlation_id)
        self._record(caller, request, Outcome.ALLOW, correlation_id)
        return _residues(stored)

    def open(self, caller: Peer, request: OpenRequest, *, correlation_id: str) -> bytes:
        """Reveal the self-mask seed of one answered attempt (at most one per request and phase).

        Raises
        ------
        ProtocolRefused
            When the attempt may not be opened (see :meth:`ReportLedger.open`).

        """
        record = self._ledger.open(
            request.request_hash, int(request.phase), request.attempt, request.answering_set_hash
        )
        self._audit.record(
            AuditEvent.for_peer(
                caller,
                action="report.open",
                outcome=Outcome.ALLOW,
                reason=f"phase {int(request.phase)}",
                correlation_id=correlation_id,
                details={"attempt": request.attempt, "members": len(record.participants)},
            )
        )
        context = MaskContext(record.context_hash, record.attempt, record.answering_set_hash)
        return self_mask_seed(self._me.keys.mask.private_key, context)

    # -- checks ------------------------------------------------------------------------------

    def _verified(self, request: ShareRequest) -> tuple[VerifiedOrder, ReportTemplate]:
        order = verify_order(
            request.order,
            ca_certificate_pem=self._me.ca_certificate_pem,
            revocation=self._me.revocations,
            now=self._clock(),
        )
        if (order.order.template_id, order.order.period) != (request.template_id, request.period):
            raise InvalidInputError("the regulator's order names another report", field="order_nonce")
        if request.regulator not in ("", order.regulator.member_id):
            raise InvalidInputError(
                "the regulator's certificate names another regulator", field="regulator_member_id"
            )
        template = load_template(self._me.policies_dir, request.template_id)
        if template.version != request.template_version:
            raise InvalidInputError(
                f"this member has template {template.template_id} v{template.version}, "
                f"the request is for v{request.template_version}",
                field="header.vector_layout_version",
            )
        if order.request_hash(template.version) != request.request_hash:
            raise InvalidInputError("does not name the regulator's order", field="request_hash")
        return order, template

    def _check_round(self, request: ShareRequest) -> None:
        if self._me.member_id not in request.participants:
            raise InvalidInputError("this member is not among the participants", field="answering_member_ids")
        if answering_set_hash(request.participants) != request.answering_set_hash:
            raise InvalidInputError("does not match the participants", field="answering_set_hash")
        if request.phase is not Phase.DOMINANCE and request.noisy_totals:
            raise InvalidInputError("only phase 2 carries totals", field="noisy_totals")

    def _authorize(self, caller: Peer, request: ShareRequest, correlation_id: str) -> None:
        self._policy.authorize(caller, ANSWER_ACTION, {"template_id": request.template_id})

    def _identity(self, request: ShareRequest, template: ReportTemplate, inputs: bytes) -> ShareIdentity:
        return ShareIdentity(
            request.request_hash,
            template.version,
            int(request.phase),
            request.attempt,
            tuple(canonical_order(request.participants)),
            request.answering_set_hash,
            context_hash(request.request_hash, request.phase, inputs),
        )

    # -- phase 3 -----------------------------------------------------------------------------

    def _holders_share(
        self,
        order: VerifiedOrder,
        template: ReportTemplate,
        request: ShareRequest,
        rules: PhaseRules,
        caller: Peer,
        correlation_id: str,
    ) -> Residues:
        keys = HoldersKeys.derive(self._secret(), request.request_hash)
        identity = self._identity(request, template, keys.epoch_bytes)
        stored = self._ledger.stored(order, identity, rules)
        persons = persons_counted(
            self._me.store,
            template,
            Period.parse(request.period),
            role=self._me.role,
            snapshot_period=self._snapshot(template),
            persons=self._person_keys(),
            contact_rules=ContactRules.from_directory(self._me.policies_dir),
            as_of=self._clock(),
        )
        buckets = template.holders_buckets
        vector = holders_vector(persons, keys, buckets)
        context = MaskContext(identity.context_hash, request.attempt, request.answering_set_hash)
        masked_words = self._mask_words(vector, keys, context, request)
        if stored is None:
            check: Residues = np.array(
                [(check_value(vector, keys.check_vector(buckets)) + keys.check_mask) % P], dtype=np.uint64
            )
            check_share = self._mask(np.array([0], dtype=np.int64), identity, request, residues=check)
            stored = self._ledger.record(order, identity, rules, check_share.astype("<u8").tobytes())
        self._holders.contribute_report_vector(
            request.request_hash, request.attempt, pack_words(masked_words)
        )
        self._record(caller, request, Outcome.ALLOW, correlation_id)
        return _residues(stored)

    def _mask_words(
        self, vector: Words, keys: HoldersKeys, context: MaskContext, request: ShareRequest
    ) -> Words:
        others = [m for m in request.participants if m != self._me.member_id]
        peers = {m: k.bundle.mask_public_key for m, k in self._peers.get(others).items()}
        masked: Words = vector + keys.common_mask(vector.size)
        masked += pairwise_words(
            own_id=self._me.member_id,
            own_mask_private=self._me.keys.mask.private_key,
            peers=peers,
            context=context,
            count=vector.size,
        )
        seed = self_mask_seed(self._me.keys.mask.private_key, context)
        masked += expand_words(seed, label=SELF_WORDS_LABEL, count=vector.size)
        return masked

    def _verified_holders(self, template: ReportTemplate, request: ShareRequest) -> HoldersCount:
        opened = self._ledger.opened(request.request_hash, int(Phase.HOLDERS))
        if opened is None:
            raise ProtocolRefused("phase 3 of this request was not opened", reason="phase_out_of_order")
        words, check = self._holders.fetch_report_vector(request.request_hash)
        vector = unpack_words(words)
        if vector.size != template.holders_buckets:
            raise InvalidInputError(f"expected {template.holders_buckets} words", field="words")
        keys = HoldersKeys.derive(self._secret(), request.request_hash)
        return HoldersCount.verify(vector, check, members=len(opened.participants), keys=keys)

    # -- phases 1 and 2 ----------------------------------------------------------------------

    def _values(
        self, template: ReportTemplate, plan: ReleasePlan, holders: HoldersCount, request: ShareRequest
    ) -> SignedValues:
        limit = template.release.max_members_per_person
        keys = self._person_keys(allowed=lambda token: holders.allows(token, limit=limit))
        own = compute_histograms(
            self._me.store,
            template,
            Period.parse(request.period),
            role=self._me.role,
            snapshot_period=self._snapshot(template),
            persons=keys,
            contact_rules=ContactRules.from_directory(self._me.policies_dir),
            as_of=self._clock(),
        )
        designated = canonical_order(request.participants)[0] == self._me.member_id
        for histogram in template.histograms:
            if histogram.feed is Feed.LENDERS_PER_BORROWER and designated:
                own[histogram.id] = bucket_histogram(holders, template.width(histogram))
        parts: dict[tuple[str, str], SignedValues] = {}
        for (histogram_id, name), exact in _exact_parts(template, own, request).items():
            histogram_plan = plan.histograms[histogram_id]
            noise_plan = (
                histogram_plan.margins[int(name.removeprefix("margin"))]
                if name.startswith("margin")
                else getattr(histogram_plan, name)
            )
            if noise_plan is None:
                continue  # no institution rules for this histogram or this many members
            parts[(histogram_id, name)] = exact + self._noise.share(noise_plan, exact.size)
        return ShareLayout.for_plan(template, plan, request.phase).pack(parts)

    def _mask(
        self,
        values: SignedValues,
        identity: ShareIdentity,
        request: ShareRequest,
        *,
        residues: Residues | None = None,
    ) -> Residues:
        others = [member for member in request.participants if member != self._me.member_id]
        peers = {member: keys.bundle.mask_public_key for member, keys in self._peers.get(others).items()}
        context = MaskContext(identity.context_hash, request.attempt, request.answering_set_hash)
        masked = mask_contribution(
            values,
            own_id=self._me.member_id,
            own_mask_private=self._me.keys.mask.private_key,
            peers=peers,
            context=context,
            query_seed=None,
        )
        scratch = np.empty_like(masked)
        if residues is not None:
            add_into(masked, residues, scratch=scratch)
        add_into(
            masked,
            self_mask(self_mask_seed(self._me.keys.mask.private_key, context), masked.shape),
            scratch=scratch,
        )
        return masked

    # -- helpers -----------------------------------------------------------------------------

    def _person_keys(self, allowed: Callable[[bytes], bool] | None = None) -> PersonKeys:
        tokens = SubjectTokens(self._me.store)
        epoch = tokens.latest_epoch(TokenType.RESIDENT_ID)
        mapping = tokens.token_by_borrower(TokenType.RESIDENT_ID, epoch)
        return PersonKeys(mapping) if allowed is None else PersonKeys(mapping, allowed)

    def _snapshot(self, template: ReportTemplate) -> Period:
        return Period.containing(self._clock(), template.zone)

    def _record_charge(
        self, caller: Peer, order: VerifiedOrder, request: ShareRequest, rho: float, correlation_id: str
    ) -> None:
        """A privacy-budget charge is a decision of its own in the witnessed audit log (issue #12)."""
        regulator, period = order.regulator.member_id, order.order.period
        self._audit.record(
            AuditEvent.for_peer(
                caller,
                action=BUDGET_ACTION,
                outcome=Outcome.ALLOW,
                reason=request.template_id,
                correlation_id=correlation_id,
                details={
                    "period": period,
                    "regulator": regulator,
                    "phase": int(request.phase),
                    "attempt": request.attempt,
                    "rho": f"{rho:.6g}",
                    "remaining": f"{self._ledger.remaining(regulator, period):.6g}",
                },
            )
        )

    def _record(self, caller: Peer, request: ShareRequest, outcome: Outcome, correlation_id: str) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                caller,
                action=ANSWER_ACTION,
                outcome=outcome,
                reason=request.template_id,
                correlation_id=correlation_id,
                details={
                    "period": request.period,
                    "phase": int(request.phase),
                    "attempt": request.attempt,
                    "members": len(request.participants),
                },
            )
        )


def _phase_rho(plan: ReleasePlan, phase: Phase) -> float:
    if phase is Phase.COUNTS:
        return plan.rho_counts_phase
    if phase is Phase.DOMINANCE:
        return plan.rho_dominance_phase
    return 0.0  # the holders count releases nothing outside the members


def _residues(record: AttemptRecord) -> Residues:
    values: Residues = np.frombuffer(record.share, dtype="<u8").astype(np.uint64)
    check_residues(values, field="share")
    return values


def _exact_parts(
    template: ReportTemplate, own: dict[str, Counts], request: ShareRequest
) -> dict[tuple[str, str], Counts]:
    """Phase 1: counts, measured totals and institution indicators; phase 2: dominance flags."""
    if request.phase is Phase.COUNTS:
        parts: dict[tuple[str, str], Counts] = {}
        for histogram in template.histograms:
            cells = own[histogram.id]
            parts[(histogram.id, "counts")] = cells
            for number, margin in enumerate(histogram.margins):
                totals = np.zeros(template.margin_width(histogram, margin), dtype=np.int64)
                np.add.at(totals, np.asarray(template.margin_index(histogram, margin)), cells)
                parts[(histogram.id, f"margin{number}")] = totals
            parts[(histogram.id, "institutions")] = institution_indicators(cells)
        return parts
    totals = np.asarray(request.noisy_totals, dtype=np.int64)
    if totals.shape != (sum(template.width(h) for h in template.histograms),):
        raise InvalidInputError("expected one noisy total per cell of every histogram", field="noisy_totals")
    parts = {}
    offset = 0
    for histogram in template.histograms:
        width = template.width(histogram)
        share = template.release.max_dominance_share
        parts[(histogram.id, "dominance")] = dominance_flags(
            own[histogram.id], totals[offset : offset + width], share=share
        )
        offset += width
    return parts
