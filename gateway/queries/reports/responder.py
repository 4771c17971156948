"""A member answering a report round: decide, charge, count, noise, mask.

1. Its own Cedar policy decides whether it answers this template (``report.answer``).
2. Phase 1 charges the release to its persistent budget for (regulator, period) — once per
   request, whatever the attempt — and refuses when the budget would be exceeded.
3. It counts its own borrowers into the template's bounded histograms, adds a Skellam noise
   share per vector sized for the members answering this attempt less the colluders (fresh
   for every attempt and phase), and masks the result pairwise as in the subject check.
4. For the multi-lender histogram it first streams its pseudonyms to the bureau.

Only the noised, masked vector and the pseudonyms leave; the exact counts never do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.aggregation import MaskContext, answering_set_hash, mask_contribution
from gateway.aggregation.field import Residues, SignedValues
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.keys import NodeKeys
from gateway.errors import InvalidInputError, PolicyDenied
from gateway.identity.peer import Peer
from gateway.node.pins import PinStore
from gateway.policy import PolicyDecisionPoint
from gateway.policy.contact_rules import ContactRules
from gateway.queries.reports.messages import Phase, ShareLayout, ShareRequest, phase_hash
from gateway.queries.reports.pseudonyms import load_members_key, pseudonyms_for
from gateway.reports.budget import PrivacyLedger
from gateway.reports.histograms import Counts, Period, active_borrowers, compute_histograms
from gateway.reports.noise import NoiseShareSource
from gateway.reports.release import (
    ReleaseKey,
    ReleasePlan,
    dominance_flags,
    institution_indicators,
    plan_release,
)
from gateway.reports.templates import ReportTemplate, load_template
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.enums import TokenType
from gateway.store.repositories.tokens import SubjectTokens

ANSWER_ACTION = "report.answer"
BUDGET_ACTION = "report.budget_charge"
PseudonymSink = Callable[[bytes, int, Sequence[bytes]], object]
"""Streams ``(request hash, attempt, pseudonyms)`` to the bureau."""


@dataclass(frozen=True)
class ResponderContext:
    """Who this member is and what it keeps."""

    member_id: str
    role: Role
    store: Store
    keys: NodeKeys
    policies_dir: Path
    members_key_path: Path


class ReportResponder:
    """Computes this member's noised, masked share of a report round."""

    def __init__(
        self,
        context: ResponderContext,
        *,
        peers: PinStore,
        policy: PolicyDecisionPoint,
        ledger: PrivacyLedger,
        noise: NoiseShareSource,
        pseudonym_sink: PseudonymSink,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._me = context
        self._peers = peers
        self._policy = policy
        self._ledger = ledger
        self._noise = noise
        self._sink = pseudonym_sink
        self._audit = audit
        self._clock = clock

    def share(self, caller: Peer, request: ShareRequest, *, correlation_id: str) -> Residues:
        """The masked share for ``request``.

        Raises
        ------
        PolicyDenied
            When this member's policy does not answer the template.
        RateLimited
            When the release would exceed this member's budget for the regulator and period.
        AlreadyReleasedError
            When another request for the same template, period and regulator was answered.
        InvalidInputError
            When the request is malformed (names the field).

        """
        self._check_round(request)
        self._authorize(caller, request, correlation_id)
        template = self._template(request)
        period = Period.parse(request.period)
        plan = plan_release(template, answering=len(request.participants))
        self._charge(request, ReleaseKey(template.template_id, str(period), request.regulator), plan.rho)
        if request.phase is Phase.COUNTS:
            self._record_charge(caller, request, plan.rho, correlation_id)
        own = compute_histograms(
            self._me.store,
            template,
            period,
            role=self._me.role,
            snapshot_period=self._snapshot(template),
            contact_rules=ContactRules.from_directory(self._me.policies_dir),
            as_of=self._clock(),
        )
        if request.phase is Phase.COUNTS and template.uses_pseudonym_join:
            self._send_pseudonyms(request, period, template)
        values = self._noised_vector(template, plan, own, request)
        self._record(caller, request, Outcome.ALLOW, correlation_id)
        return self._mask(values, request)

    def _check_round(self, request: ShareRequest) -> None:
        if self._me.member_id not in request.participants:
            raise InvalidInputError("this member is not among the participants", field="answering_member_ids")
        if answering_set_hash(request.participants) != request.answering_set_hash:
            raise InvalidInputError("does not match the participants", field="answering_set_hash")
        if request.phase is Phase.COUNTS and request.noisy_totals:
            raise InvalidInputError("phase 1 carries no totals", field="noisy_totals")

    def _authorize(self, caller: Peer, request: ShareRequest, correlation_id: str) -> None:
        try:
            self._policy.authorize(caller, ANSWER_ACTION, {"template_id": request.template_id})
        except PolicyDenied:
            self._record(caller, request, Outcome.DENY, correlation_id)
            raise

    def _template(self, request: ShareRequest) -> ReportTemplate:
        template = load_template(self._me.policies_dir, request.template_id)
        if template.version != request.template_version:
            raise InvalidInputError(
                f"this member has template {template.template_id} v{template.version}, "
                f"the request is for v{request.template_version}",
                field="header.vector_layout_version",
            )
        return template

    def _charge(self, request: ShareRequest, key: ReleaseKey, rho: float) -> None:
        """Phase 1 charges the budget (once per request); phase 2 only follows a charged phase 1."""
        if request.phase is Phase.COUNTS:
            self._ledger.charge(
                key, template_version=request.template_version, request_hash=request.request_hash, rho=rho
            )
        elif request.request_hash.hex() not in {
            e.request_hash for e in self._ledger.entries(key.regulator, key.period)
        }:
            raise InvalidInputError("phase 2 of a request this member never charged", field="phase")

    def _snapshot(self, template: ReportTemplate) -> Period:
        return Period.containing(self._clock(), template.zone)

    def _send_pseudonyms(self, request: ShareRequest, period: Period, template: ReportTemplate) -> None:
        members_key = load_members_key(self._me.members_key_path)
        borrowers = active_borrowers(self._me.store, period, snapshot_period=self._snapshot(template))
        tokens = SubjectTokens(self._me.store)
        epoch = tokens.latest_epoch(TokenType.RESIDENT_ID)
        own_tokens = tokens.tokens_of_borrowers(TokenType.RESIDENT_ID, epoch, borrowers)
        self._sink(
            request.request_hash,
            request.attempt,
            pseudonyms_for(members_key, request.request_hash, own_tokens),
        )

    def _noised_vector(
        self, template: ReportTemplate, plan: ReleasePlan, own: dict[str, Counts], request: ShareRequest
    ) -> SignedValues:
        """Each exact part plus a fresh Skellam share of its plan, packed in the phase's layout."""
        parts: dict[tuple[str, str], SignedValues] = {}
        for (histogram_id, name), exact in _exact_parts(template, own, request).items():
            noise_plan = getattr(plan.histograms[histogram_id], name)
            if noise_plan is None:
                continue  # no institution rules for this histogram or this many members
            share = self._noise.share(
                noise_plan,
                exact.size,
                attempt_key=(request.request_hash, request.attempt, histogram_id, name),
            )
            parts[(histogram_id, name)] = exact + share
        return ShareLayout.for_plan(template, plan, request.phase).pack(parts)

    def _mask(self, values: SignedValues, request: ShareRequest) -> Residues:
        others = [member for member in request.participants if member != self._me.member_id]
        peers = {member: keys.bundle.mask_public_key for member, keys in self._peers.get(others).items()}
        context = MaskContext(
            phase_hash(request.request_hash, request.phase), request.attempt, request.answering_set_hash
        )
        return mask_contribution(
            values,
            own_id=self._me.member_id,
            own_mask_private=self._me.keys.mask.private_key,
            peers=peers,
            context=context,
            query_seed=None,
        )

    def _record_charge(self, caller: Peer, request: ShareRequest, rho: float, correlation_id: str) -> None:
        """A privacy-budget charge is a decision of its own in the witnessed audit log (issue #12)."""
        self._audit.record(
            AuditEvent.for_peer(
                caller,
                action=BUDGET_ACTION,
                outcome=Outcome.ALLOW,
                reason=request.template_id,
                correlation_id=correlation_id,
                details={
                    "period": request.period,
                    "regulator": request.regulator,
                    "rho": f"{rho:.6g}",
                    "remaining": f"{self._ledger.remaining(request.regulator, request.period):.6g}",
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
                    "regulator": request.regulator,
                    "phase": int(request.phase),
                    "attempt": request.attempt,
                    "members": len(request.participants),
                },
            )
        )


def _exact_parts(
    template: ReportTemplate, own: dict[str, Counts], request: ShareRequest
) -> dict[tuple[str, str], Counts]:
    """Phase 1: counts and institution indicators; phase 2: dominance flags against the noisy totals."""
    if request.phase is Phase.COUNTS:
        return {
            (h.id, part): vector
            for h in template.histograms
            for part, vector in (("counts", own[h.id]), ("institutions", institution_indicators(own[h.id])))
        }
    totals = np.asarray(request.noisy_totals, dtype=np.int64)
    if totals.shape != (sum(template.width(h) for h in template.histograms),):
        raise InvalidInputError("expected one noisy total per cell of every histogram", field="noisy_totals")
    parts: dict[tuple[str, str], Counts] = {}
    offset = 0
    for histogram in template.histograms:
        width = template.width(histogram)
        share = template.release.max_dominance_share
        parts[(histogram.id, "dominance")] = dominance_flags(
            own[histogram.id], totals[offset : offset + width], share=share
        )
        offset += width
    return parts
