"""A member answering the bureau's fan-out: open, check, compute, mask.

1. Open the envelope sealed to this member (HPKE, ``info`` binding the query,
   the chunk and this member as recipient).
2. Check the dedup tags against the opened tokens and the bureau's query date,
   and that this member is among the participants of the stated set hash.
3. Compute this member's rows from its own store — or zero rows when the
   envelope is the querier's own, so that its node takes part like any other.
4. Add the querier's mask and the pairwise masks of this attempt (Bonawitz et
   al. 2017) and hand back only the masked rows.

The request names neither the querier nor the reason, and nothing here records
either (ARCHITECTURE §6.1).
"""

from __future__ import annotations

import numpy as np

from gateway.aggregation import MaskContext, answering_set_hash, mask_contribution
from gateway.aggregation.field import Residues
from gateway.crypto.hpke import SealedBox, open_sealed
from gateway.crypto.keys import NodeKeys
from gateway.errors import InvalidInputError
from gateway.node.peer_keys import PeerKeyCache
from gateway.queries.subject_check.envelope import TokenChunk, check_dedup_tags, envelope_info
from gateway.queries.subject_check.messages import RoundRequest
from gateway.queries.subject_check.profile import ProfileQuery, SubjectProfiler
from gateway.queries.subject_check.settings import SubjectCheckSettings


class SubjectCheckResponder:
    """Computes this member's masked rows for one round.

    Parameters
    ----------
    member_id
        This member (its certificate's id).
    keys
        This member's HPKE and mask key pairs.
    profiler
        Computes rows from this member's store.
    peers
        Verified mask keys of the other participants.
    settings
        The subject-check policy (time zone, layout).

    """

    def __init__(
        self,
        *,
        member_id: str,
        keys: NodeKeys,
        profiler: SubjectProfiler,
        peers: PeerKeyCache,
        settings: SubjectCheckSettings,
    ) -> None:
        self._member_id = member_id
        self._keys = keys
        self._profiler = profiler
        self._peers = peers
        self._settings = settings

    def answer(self, request: RoundRequest) -> Residues:
        """Masked rows for ``request``.

        Raises
        ------
        InvalidInputError
            When the envelope is not for this member, the tags or the participant
            set do not check out, or the layout version differs.
        DecryptionError
            When the envelope does not open.

        """
        self._check_round(request)
        chunk = self._open(request)
        local_date = request.query_time.astimezone(self._settings.zone).date()
        check_dedup_tags(chunk.tokens, request.dedup_tags, local_date)
        if chunk.is_querier:
            rows = np.zeros((len(chunk.tokens), self._profiler.layout.width), dtype=np.int64)
        else:
            rows = self._profiler.rows(
                ProfileQuery(chunk.tokens, chunk.key_epoch, request.query_time, request.segment_map)
            )
        others = [member for member in request.participants if member != self._member_id]
        peers = {member: keys.bundle.mask_public_key for member, keys in self._peers.get(others).items()}
        context = MaskContext(request.request_hash, request.attempt, request.answering_set_hash)
        return mask_contribution(
            rows,
            own_id=self._member_id,
            own_mask_private=self._keys.mask.private_key,
            peers=peers,
            context=context,
            query_seed=chunk.query_seed,
        )

    def _check_round(self, request: RoundRequest) -> None:
        if request.layout_version != self._profiler.layout.version:
            raise InvalidInputError(
                f"expected vector layout {self._profiler.layout.version}, received {request.layout_version}",
                field="header.vector_layout_version",
            )
        if request.sealed.recipient != self._member_id:
            raise InvalidInputError("the envelope is addressed to another member", field="sealed")
        if self._member_id not in request.participants:
            raise InvalidInputError("this member is not among the participants", field="answering_member_ids")
        if answering_set_hash(request.participants) != request.answering_set_hash:
            raise InvalidInputError("does not match the participants", field="answering_set_hash")

    def _open(self, request: RoundRequest) -> TokenChunk:
        box = SealedBox(request.sealed.enc, request.sealed.ciphertext)
        info = envelope_info(request.idempotency_key, request.chunk_index, self._member_id)
        chunk = TokenChunk.from_bytes(open_sealed(self._keys.hpke.private_key, box, info=info, aad=b""))
        if len(chunk.tokens) != request.subject_count:
            raise InvalidInputError(
                f"expected {request.subject_count} tokens, the envelope holds {len(chunk.tokens)}",
                field="subject_count",
            )
        return chunk
