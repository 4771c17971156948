"""A member answering the bureau's fan-out: check, open, authenticate, compute, mask, sign.

1. The request is fresh (the bureau's query time within the policy's window of this
   member's clock), for this member, and names a participant set that hashes right.
2. Open the envelope sealed to this member (HPKE, ``info`` binding the chunk's public
   fields and this member as recipient); check the querier's authenticator, which only a
   member can make (so the bureau cannot make up a check), and the dedup tags, both
   keyed with the members' secret.
3. Record the (request, attempt) in durable state: answered once, attempts strictly
   increasing up to the policy's maximum, answering sets strictly shrinking, nothing after
   a finalized attempt (``ResponderState``). Anything else is refused and audited.
4. Compute this member's rows from its own store — zero rows when the envelope is the
   querier's own, so that its node takes part like any other.
5. Add the querier mask ``R`` (bound to the attempt and the set), the pairwise masks, sign
   the digest of the result for the querier, then add the self-mask, revealed only when
   the bureau asks to finalize this attempt (``finalize``).

The request names neither the querier nor the reason, and nothing here records either
(ARCHITECTURE §6.1). Tokens of subjects this member does not hold are used for the
lookup only: they are neither stored nor logged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import numpy as np

from gateway.aggregation import (
    MaskContext,
    answering_set_hash,
    mask_contribution,
    row_digests,
    self_mask,
    self_mask_seed,
    verification_vector,
)
from gateway.aggregation.field import add_into
from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.crypto.hpke import SealedBox, open_sealed
from gateway.crypto.keys import NodeKeys
from gateway.crypto.members_secret import MembersSecretStore
from gateway.errors import GatewayError, InvalidInputError, ProtocolRefused
from gateway.identity.peer import Peer
from gateway.node.pins import PinStore
from gateway.queries.subject_check.envelope import (
    TokenChunk,
    check_authenticator,
    check_dedup_tags,
    chunk_binding,
    envelope_info,
)
from gateway.queries.subject_check.messages import Contribution, FinalizeRequest, RoundRequest
from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
from gateway.queries.subject_check.proofs import sign_proof
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store.repositories.rounds import ResponderState

ANSWER_ACTION = "subject_check.answer"
# How far the bureau's query time may lie from this member's clock.
FRESHNESS = dt.timedelta(minutes=10)


class SubjectCheckResponder:
    """Computes this member's masked rows for one round, under durable per-request state.

    Parameters
    ----------
    me
        This member (its certificate's identity).
    keys
        This member's HPKE and mask key pairs.
    tls_key_pem
        This member's certificate key, signing its contribution digests.
    profiler
        Computes rows from this member's store.
    peers
        Pinned, verified keys of the other participants.
    secrets
        The members' secret, by epoch.
    state
        Durable per-request state.
    settings
        The subject-check policy (time zone, layout, attempts).
    audit
        Where refusals are recorded.
    clock
        This member's UTC clock.

    """

    def __init__(
        self,
        *,
        me: Peer,
        keys: NodeKeys,
        tls_key_pem: bytes,
        profiler: SubjectProfiler,
        peers: PinStore,
        secrets: MembersSecretStore,
        state: ResponderState,
        settings: SubjectCheckSettings,
        audit: AuditRecorder,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._me = me
        self._member_id = me.member_id
        self._keys = keys
        self._tls_key_pem = tls_key_pem
        self._profiler = profiler
        self._peers = peers
        self._secrets = secrets
        self._state = state
        self._settings = settings
        self._audit = audit
        self._clock = clock
        self._purged_at: dt.datetime | None = None

    def answer(self, request: RoundRequest, *, caller: Peer) -> Contribution:
        """Self-masked rows and signed digest for ``request`` from ``caller`` (the bureau); audited.

        The entry of an answered request commits with its round state, so a round is never
        answered unaudited; a refused or failed request is audited too.

        Raises
        ------
        InvalidInputError
            When the envelope is not for this member, the tags or the participant set do
            not check out, or the layout version differs.
        ProtocolRefused
            When no member made the query, or the attempt or set breaks the durable state.
        DecryptionError
            When the envelope does not open.

        """
        try:
            return self._answer(request, caller)
        except GatewayError as exc:
            self._refused(request.request_hash, exc)
            raise
        except Exception:
            self._refused(request.request_hash, GatewayError("internal error"), outcome=Outcome.ERROR)
            raise

    def finalize(self, request: FinalizeRequest) -> bytes:
        """This attempt's self-mask seed, once; only for the highest attempt answered.

        Raises
        ------
        ProtocolRefused
            When the attempt was not answered over that set, or cannot be finalized.

        """
        try:
            self._state.finalize(request.request_hash, request.attempt, request.answering_set_hash)
        except ProtocolRefused as exc:
            self._refused(request.request_hash, exc)
            raise
        context = MaskContext(request.request_hash, request.attempt, request.answering_set_hash)
        return self_mask_seed(self._keys.mask.private_key, context)

    def _answer(self, request: RoundRequest, caller: Peer) -> Contribution:
        self._check_round(request)
        secret = self._secrets.get(request.secret_epoch)
        binding = chunk_binding(
            request.idempotency_key,
            request.chunk_index,
            request.subject_count,
            request.secret_epoch,
            request.dedup_tags,
        )
        chunk = self._open(request, binding)
        try:
            check_authenticator(secret, binding, chunk)
        except InvalidInputError as exc:
            raise ProtocolRefused(exc.message, reason="unauthenticated_query") from exc
        local_date = request.query_time.astimezone(self._settings.zone).date()
        check_dedup_tags(secret, chunk.tokens, request.dedup_tags, local_date)
        self._purge()
        with self._state.transaction():
            self._state.begin(
                request.request_hash,
                request.attempt,
                request.participants,
                request.answering_set_hash,
                max_attempts=self._settings.aggregation.max_attempts,
                at=self._clock(),
            )
            self._audit.record(
                AuditEvent.for_peer(
                    caller,
                    action=ANSWER_ACTION,
                    outcome=Outcome.ALLOW,
                    reason="answered",
                    correlation_id=uuid.uuid4().hex,
                    details={"request_hash": request.request_hash.hex()[:32], "attempt": request.attempt},
                )
            )
        if chunk.is_querier:
            rows = np.zeros((len(chunk.tokens), self._profiler.layout.width), dtype=np.int64)
        else:
            rows = self._profiler.rows(
                ProfileQuery(chunk.tokens, chunk.key_epoch, request.query_time, request.segment_map)
            )
        others = [member for member in request.participants if member != self._member_id]
        peers = {member: keys.bundle.mask_public_key for member, keys in self._peers.get(others).items()}
        context = MaskContext(request.request_hash, request.attempt, request.answering_set_hash)
        masked = mask_contribution(
            rows,
            own_id=self._member_id,
            own_mask_private=self._keys.mask.private_key,
            peers=peers,
            context=context,
            query_seed=chunk.query_seed,
        )
        vector = verification_vector(chunk.query_seed, request.request_hash, masked.shape[1])
        proof = sign_proof(
            self._member_id,
            context,
            row_digests(masked, vector),
            self._tls_key_pem,
        )
        add_into(
            masked,
            self_mask(self_mask_seed(self._keys.mask.private_key, context), masked.shape),
            scratch=np.empty_like(masked),
        )
        return Contribution(masked, proof)

    def _purge(self) -> None:
        """Forget the state of requests no longer fresh (a replay of them is refused as stale)."""
        now = self._clock()
        if self._purged_at is None or now - self._purged_at > FRESHNESS:
            self._state.purge(now - 2 * FRESHNESS)
            self._purged_at = now

    def _check_round(self, request: RoundRequest) -> None:
        if request.layout_version != self._profiler.layout.version:
            raise InvalidInputError(
                f"expected vector layout {self._profiler.layout.version}, received {request.layout_version}",
                field="header.vector_layout_version",
            )
        if abs(self._clock() - request.query_time) > FRESHNESS:
            raise ProtocolRefused("the query time is not fresh", reason="stale_request")
        if request.sealed.recipient != self._member_id:
            raise InvalidInputError("the envelope is addressed to another member", field="sealed")
        if self._member_id not in request.participants:
            raise InvalidInputError("this member is not among the participants", field="answering_member_ids")
        if answering_set_hash(request.participants) != request.answering_set_hash:
            raise InvalidInputError("does not match the participants", field="answering_set_hash")

    def _open(self, request: RoundRequest, binding: bytes) -> TokenChunk:
        box = SealedBox(request.sealed.enc, request.sealed.ciphertext)
        info = envelope_info(binding, self._member_id)
        chunk = TokenChunk.from_bytes(open_sealed(self._keys.hpke.private_key, box, info=info, aad=b""))
        if len(chunk.tokens) != request.subject_count:
            raise InvalidInputError(
                f"expected {request.subject_count} tokens, the envelope holds {len(chunk.tokens)}",
                field="subject_count",
            )
        return chunk

    def _refused(self, request_hash: bytes, error: GatewayError, *, outcome: Outcome = Outcome.DENY) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                self._me,
                action=f"{ANSWER_ACTION}.refused",
                outcome=outcome,
                reason=error.reason,
                correlation_id=uuid.uuid4().hex,
                details={"request_hash": request_hash.hex()[:32], "why": error.message[:200]},
            )
        )
