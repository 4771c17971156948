"""The querier's side of a subject check: decide locally, tokenise, seal, send, unmask, record.

1. For each subject, the node's own policies decide on the subject's consent
   (and, for an agency, the entrustment) in its own store; refused subjects
   are never sent. Invalid IDs are "insufficient input".
2. The remaining IDs are tokenised through the bureau's blind OPRF.
3. Per chunk: a fresh query seed; the tokens are sealed to every pinned member,
   the querier's own node included (flagged inside its envelope, so it answers
   with a zero row), with an authenticator only members can make; the dedup
   tags (keyed with the members' secret) bind each token to today.
4. The bureau's sums are checked against every participant's signed digest
   (a shifted sum is detected), unmasked with the seed of the round each row
   comes from (a cached row may come from an earlier round) and bucketed.
5. The querier records its own inquiry for every answered subject; its own
   institution's figures are computed locally and reported separately.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.aggregation import answering_set_hash, decode, query_mask
from gateway.aggregation.field import scalar_mul, sub
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.encoding import length_prefixed_all
from gateway.crypto.hpke import seal
from gateway.crypto.members_secret import MembersSecret, MembersSecretStore
from gateway.errors import GatewayError, InvalidInputError, PolicyDenied, StoreError, VerificationError
from gateway.identifiers import normalise_resident_id
from gateway.identity.peer import Peer
from gateway.identity.tls import TLSIdentity
from gateway.node.pins import PeerKeys, PinStore
from gateway.policy import PolicyDecisionPoint
from gateway.queries.subject_check.answer import CheckStatus, SubjectCheckAnswer, decode_answers, no_answer
from gateway.queries.subject_check.envelope import (
    TokenChunk,
    chunk_binding,
    dedup_tag,
    envelope_info,
    query_authenticator,
)
from gateway.queries.subject_check.layout import SEGMENTS
from gateway.queries.subject_check.messages import CheckChunk, ChunkResult, Coverage, SealedFor
from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
from gateway.queries.subject_check.proofs import verify_sum
from gateway.queries.subject_check.router import RESPONDER_ROLES
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store.database import Store
from gateway.store.enums import ReasonCode, TokenType
from gateway.store.repositories.checks import CheckRounds
from gateway.store.repositories.consents import standings
from gateway.store.repositories.inquiries import InquiryRow, record_inquiries
from gateway.store.repositories.tokens import SubjectTokens

LOCAL_ACTION = "subject_check.request"
_LOG = logging.getLogger(__name__)
_SEED_LOST = (
    "this node's store no longer holds the seed of an earlier round today that the bureau answers "
    "this subject from (the store lost committed data or was restored from an older backup); "
    "the answer cannot be opened until the bureau's cache turns over tomorrow"
)
# How long a learned OPRF key epoch is trusted before asking the bureau again.
EPOCH_TTL = dt.timedelta(seconds=60)
# Seeds of a round are kept two days (a cached row is reused the same local day at most).
ROUNDS_KEPT = dt.timedelta(days=2)
ROUNDS_PURGE_INTERVAL = dt.timedelta(hours=1)
_CONSENT_LABEL = b"credgate/v1/consent-refs"
NO_COVERAGE = Coverage(0, 0, 0, 0)


class Tokeniser(Protocol):
    """Computes tokens with the bureau's blind OPRF."""

    def tokenise(self, token_type: TokenType, values: Sequence[str]) -> tuple[int, list[bytes]]:
        """Tokens of ``values`` and their key epoch."""


class CheckTransport(Protocol):
    """Streams chunks to the bureau and yields its answers in order."""

    def run(self, chunks: Iterable[CheckChunk]) -> Iterator[ChunkResult]:
        """The bureau's answer to each chunk."""


@dataclass(frozen=True)
class SubjectRequest:
    """One subject to check: the resident ID as held, and the consent reference covering it."""

    national_id: str
    consent_ref: str


@dataclass(frozen=True)
class CheckOutcome:
    """The consortium's answer about one subject and this institution's own figures."""

    answer: SubjectCheckAnswer
    own: SubjectCheckAnswer | None


@dataclass(frozen=True)
class _Pending:
    index: int
    resident_id: str
    consent_ref: str


class SubjectCheckClient:
    """Runs subject checks from a member node (single or batched)."""

    def __init__(
        self,
        *,
        me: Peer,
        identity: TLSIdentity,
        store: Store,
        policy: PolicyDecisionPoint,
        tokeniser: Tokeniser,
        peers: PinStore,
        secrets: MembersSecretStore,
        transport: CheckTransport,
        settings: SubjectCheckSettings,
        clock: Callable[[], dt.datetime],
        audit: AuditRecorder,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._me = me
        self._identity = identity
        self._secrets = secrets
        self._store = store
        self._policy = policy
        self._tokeniser = tokeniser
        self._peers = peers
        self._transport = transport
        self._settings = settings
        self._clock = clock
        self._random = random_bytes
        self._audit = audit
        self._profiler = SubjectProfiler(store, role=me.role, settings=settings)
        self._epoch: tuple[int, dt.datetime] | None = None
        self._rounds_purged_at: dt.datetime | None = None

    def check_one(self, subject: SubjectRequest, reason: ReasonCode) -> CheckOutcome:
        """Check one subject.

        Raises
        ------
        PolicyDenied
            When this node's policies refuse the check (no valid consent, no entrustment, wrong reason).

        """
        outcome = self.check_many([subject], reason)[0]
        if outcome.answer.status is CheckStatus.ERROR:
            raise StoreError(_SEED_LOST, reason="round_seed_lost")
        if outcome.answer.status is CheckStatus.REFUSED:
            raise PolicyDenied(
                f"{reason.value}: no valid consent {subject.consent_ref!r} for this subject"
                + (" or no current entrustment" if self._me.role.value == "agency" else "")
            )
        return outcome

    def check_many(
        self,
        subjects: Sequence[SubjectRequest],
        reason: ReasonCode,
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[CheckOutcome]:
        """Check a portfolio; one outcome per subject, in order."""
        now = self._clock()
        outcomes: list[CheckOutcome | None] = [None] * len(subjects)
        pending = self._admit(subjects, reason, now, outcomes)
        if pending:
            epoch, tokens = self._tokens([p.resident_id for p in pending])
            refs = [p.consent_ref for p in pending]
            try:
                answers = self._ask(tokens, refs, epoch, reason, now, on_progress)
            except InvalidInputError as exc:
                if exc.reason != "not_sealed_to_every_member":
                    raise
                # A member joined since the pins were refreshed: refresh once and ask again.
                self._peers.refresh()
                answers = self._ask(tokens, refs, epoch, reason, now, on_progress)
            own = self._own_rows(tokens, epoch, now)
            for position, (item, answer) in enumerate(zip(pending, answers, strict=True)):
                outcomes[item.index] = CheckOutcome(answer, own[position])
            self._record(pending, tokens, epoch, answers, reason, now)
        answered = [outcome for outcome in outcomes if outcome is not None]
        self._audit_decision(answered, reason)
        return answered

    def _audit_decision(self, outcomes: Sequence[CheckOutcome], reason: ReasonCode) -> None:
        """The querier's own record of what it decided and asked (counts; no ID, no token)."""
        statuses: dict[str, int] = {}
        for outcome in outcomes:
            statuses[outcome.answer.status.value] = statuses.get(outcome.answer.status.value, 0) + 1
        refused = statuses.get(CheckStatus.REFUSED.value, 0)
        self._audit.record(
            AuditEvent.for_peer(
                self._me,
                action=LOCAL_ACTION,
                outcome=Outcome.DENY if refused == len(outcomes) else Outcome.ALLOW,
                reason=reason.value,
                correlation_id=self._random(16).hex(),
                details=statuses,
            )
        )

    def _admit(
        self,
        subjects: Sequence[SubjectRequest],
        reason: ReasonCode,
        now: dt.datetime,
        outcomes: list[CheckOutcome | None],
    ) -> list[_Pending]:
        normalised: list[_Pending] = []
        for index, subject in enumerate(subjects):
            try:
                normalised.append(
                    _Pending(index, normalise_resident_id(subject.national_id), subject.consent_ref)
                )
            except GatewayError:
                outcomes[index] = CheckOutcome(no_answer(CheckStatus.INSUFFICIENT_INPUT, NO_COVERAGE), None)
        today = now.astimezone(self._settings.zone).date()
        found = standings(
            self._store, [(p.resident_id, p.consent_ref) for p in normalised], reason=reason, today=today
        )
        admitted: list[_Pending] = []
        decisions: dict[tuple[bool, bool], bool] = {}
        for item, standing in zip(normalised, found, strict=True):
            # The decision depends on these two facts only: ask the policies once per combination.
            key = (standing.consent_valid, standing.entrusted)
            if key not in decisions:
                context = {"reason": reason.value, "consent_valid": key[0], "entrusted": key[1]}
                decisions[key] = self._policy.decide(self._me, LOCAL_ACTION, context).allowed
            if decisions[key]:
                admitted.append(item)
            else:
                outcomes[item.index] = CheckOutcome(no_answer(CheckStatus.REFUSED, NO_COVERAGE), None)
        return admitted

    def _tokens(self, resident_ids: Sequence[str]) -> tuple[int, list[bytes]]:
        """Tokens of normalised IDs: from this node's book where it already holds them, else via the bureau.

        Stored tokens count only under the bureau's current key epoch, which this client
        learns from any OPRF answer and trusts for :data:`EPOCH_TTL`; a rotation noticed in
        an answer restarts the lookup under the new epoch.
        """
        known: dict[str, bytes] = {}
        if self._epoch is None or self._clock() - self._epoch[1] > EPOCH_TTL:
            epoch, (first,) = self._tokeniser.tokenise(TokenType.RESIDENT_ID, resident_ids[:1])
            self._epoch = (epoch, self._clock())
            known[resident_ids[0]] = first
        epoch = self._epoch[0]
        known |= SubjectTokens(self._store).tokens_by_resident_id(
            TokenType.RESIDENT_ID, epoch, [r for r in resident_ids if r not in known]
        )
        missing = sorted({r for r in resident_ids if r not in known})
        if missing:
            answered, fresh = self._tokeniser.tokenise(TokenType.RESIDENT_ID, missing)
            if answered != epoch:
                self._epoch = (answered, self._clock())
                return self._tokens(resident_ids)
            known |= dict(zip(missing, fresh, strict=True))
        return epoch, [known[r] for r in resident_ids]

    def _ask(
        self,
        tokens: Sequence[bytes],
        consent_refs: Sequence[str],
        epoch: int,
        reason: ReasonCode,
        now: dt.datetime,
        on_progress: Callable[[int], None] | None,
    ) -> list[SubjectCheckAnswer]:
        recipients = {m: k for m, k in self._peers.all_members().items() if k.role in RESPONDER_ROLES}
        secret = self._secrets.current()
        size = self._settings.aggregation.max_subjects_per_chunk
        spans = [(start, tokens[start : start + size]) for start in range(0, len(tokens), size)]
        idempotency_key = self._random(16)
        seeds: dict[bytes, bytes] = {}
        rounds = CheckRounds(self._store)
        self._purge_rounds(rounds, now)

        def chunks() -> Iterator[CheckChunk]:
            for number, (start, span) in enumerate(spans):
                chunk, seed = self._seal(
                    span,
                    epoch,
                    reason,
                    now,
                    idempotency_key,
                    number,
                    last=number == len(spans) - 1,
                    recipients=recipients,
                    consent_refs=consent_refs[start : start + len(span)],
                    secret=secret,
                )
                seeds[chunk.request_hash()] = seed
                rounds.remember(chunk.request_hash(), seed, at=now)
                yield chunk

        answers: list[SubjectCheckAnswer] = []
        for result in self._transport.run(chunks()):
            answers.extend(self._open(result, len(spans[result.chunk_index][1]), seeds, rounds))
            if on_progress is not None:
                on_progress(len(spans[result.chunk_index][1]))
        return answers

    def _purge_rounds(self, rounds: CheckRounds, now: dt.datetime) -> None:
        """Forget seeds of rounds older than two days, at most once an hour (a commit each time)."""
        if self._rounds_purged_at is None or now - self._rounds_purged_at > ROUNDS_PURGE_INTERVAL:
            rounds.purge_before(now - ROUNDS_KEPT)
            self._rounds_purged_at = now

    def _seal(
        self,
        tokens: Sequence[bytes],
        epoch: int,
        reason: ReasonCode,
        now: dt.datetime,
        idempotency_key: bytes,
        number: int,
        *,
        last: bool,
        recipients: dict[str, PeerKeys],
        consent_refs: Sequence[str],
        secret: MembersSecret,
    ) -> tuple[CheckChunk, bytes]:
        seed = self._random(32)
        day = now.astimezone(self._settings.zone).date()
        tags = tuple(dedup_tag(secret, token, day) for token in tokens)
        binding = chunk_binding(idempotency_key, number, len(tokens), secret.epoch, tags)
        authenticator = query_authenticator(
            secret, binding, key_epoch=epoch, token_kind=TokenType.RESIDENT_ID, query_seed=seed, tokens=tokens
        )
        sealed: list[SealedFor] = []
        for member_id, keys in sorted(recipients.items()):
            content = TokenChunk(
                epoch,
                TokenType.RESIDENT_ID,
                seed,
                authenticator,
                tuple(tokens),
                member_id == self._me.member_id,
            )
            box = seal(
                keys.bundle.hpke_public_key,
                content.to_bytes(),
                info=envelope_info(binding, member_id),
                aad=b"",
            )
            sealed.append(SealedFor(member_id, box.enc, box.ciphertext))
        chunk = CheckChunk(
            idempotency_key=idempotency_key,
            reason=reason,
            consent_digest=consent_digest(consent_refs),
            chunk_index=number,
            last_chunk=last,
            subject_count=len(tokens),
            sealed=tuple(sealed),
            dedup_tags=tags,
            secret_epoch=secret.epoch,
        )
        return chunk, seed

    def _open(
        self, result: ChunkResult, count: int, seeds: dict[bytes, bytes], rounds: CheckRounds
    ) -> list[SubjectCheckAnswer]:
        if not result.complete:
            return [no_answer(CheckStatus.INSUFFICIENT_COVERAGE, result.coverage)] * count
        missing = [r.request_hash for r in result.rounds if r.request_hash not in seeds]
        seeds = seeds | rounds.seeds(missing)
        answers: list[SubjectCheckAnswer | None] = [None] * count
        certificates = {m: k.certificate_der for m, k in self._peers.all_members().items()}
        for number, reference in enumerate(result.rounds):
            mine = [i for i, r in enumerate(result.row_round) if r == number]
            if reference.request_hash not in seeds:
                # A cached row from an earlier round today whose seed this store no longer holds
                # (lost with the disk or a restore): it cannot be opened, by anyone, until tomorrow.
                _LOG.error("round_seed_lost", extra={"rows": len(mine), "explanation": _SEED_LOST})
                for index in mine:
                    answers[index] = no_answer(CheckStatus.ERROR, reference.coverage)
                continue
            positions = [result.row_index[i] for i in mine]
            if len(reference.participants) != reference.coverage.participants:
                raise VerificationError("the round's participants do not match its coverage")
            unpinned = [m for m in reference.participants if m not in certificates]
            if unpinned:
                certificates |= {m: k.certificate_der for m, k in self._peers.get(unpinned).items()}
            verify_sum(
                result.masked_rows[mine],
                positions,
                query_seed=seeds[reference.request_hash],
                request_hash=reference.request_hash,
                attempt=reference.attempt,
                participants=reference.participants,
                proofs=reference.proofs,
                certificates=certificates,
                ca_pem=self._identity.ca_pem,
                revocation=self._identity.revocations,
                now=self._clock(),
            )
            # The querier's mask was expanded over that round's whole matrix: take each row's own position.
            mask = query_mask(
                seeds[reference.request_hash],
                request_hash=reference.request_hash,
                attempt=reference.attempt,
                answering_set_hash=answering_set_hash(reference.participants),
                shape=(reference.rows, result.masked_rows.shape[1]),
            )
            removed = scalar_mul(mask[positions], reference.coverage.participants)
            totals = decode(sub(result.masked_rows[mine], removed))
            decoded = decode_answers(
                totals,
                settings=self._settings,
                coverage=reference.coverage,
                segment_map=reference.segment_map,
            )
            for index, answer in zip(mine, decoded, strict=True):
                answers[index] = answer
        return [answer for answer in answers if answer is not None]

    def _own_rows(self, tokens: Sequence[bytes], epoch: int, now: dt.datetime) -> list[SubjectCheckAnswer]:
        identity = {segment: segment for segment in SEGMENTS}
        rows = self._profiler.rows(ProfileQuery(tokens, epoch, now, identity))
        return decode_answers(
            rows, settings=self._settings, coverage=Coverage(1, 1, 1, 1), segment_map=identity
        )

    def _record(
        self,
        pending: Sequence[_Pending],
        tokens: Sequence[bytes],
        epoch: int,
        answers: Sequence[SubjectCheckAnswer],
        reason: ReasonCode,
        now: dt.datetime,
    ) -> None:
        prefix = self._random(8).hex()
        record_inquiries(
            self._store,
            (
                InquiryRow(f"{prefix}-{position}", token, epoch, reason, item.consent_ref, now)
                for position, (item, token, answer) in enumerate(zip(pending, tokens, answers, strict=True))
                if answer.status in {CheckStatus.HIT, CheckStatus.NO_MATCH}
            ),
        )


def consent_digest(consent_refs: Sequence[str]) -> bytes:
    """SHA-256 over a chunk's consent references, in order.

    It lets an auditor match the bureau's record to the querier's without the
    bureau learning the references.
    """
    return hashlib.sha256(
        length_prefixed_all([_CONSENT_LABEL, *(ref.encode("utf-8") for ref in consent_refs)], width=4)
    ).digest()
