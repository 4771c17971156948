"""What travels in one report round, and how a member's vector is laid out.

Phase 1 carries, per histogram, the bounded counts and (where the institution rules apply)
the institution indicators; phase 2 carries the dominance flags. Each phase has its own
mask context, so no pairwise mask is ever used twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from gateway.aggregation.field import SignedValues
from gateway.crypto.encoding import i2osp, length_prefixed
from gateway.errors import InvalidInputError
from gateway.reports.release import ReleasePlan
from gateway.reports.templates import ReportTemplate

__all__ = ["Phase", "ShareLayout", "ShareRequest", "phase_hash", "report_request_hash"]

_REQUEST_LABEL = b"credgate/v1/report-request"
_PHASE_LABEL = b"credgate/v1/report-phase"


class Phase(IntEnum):
    """Which vector a round asks for."""

    COUNTS = 1
    DOMINANCE = 2


@dataclass(frozen=True)
class ShareRequest:
    """The bureau's request for one member's share of one phase of one attempt."""

    query_time: dt.datetime
    idempotency_key: bytes
    attempt: int
    template_id: str
    template_version: int
    period: str
    regulator: str
    request_hash: bytes
    answering_set_hash: bytes
    participants: tuple[str, ...]
    phase: Phase
    noisy_totals: tuple[int, ...] = ()


def report_request_hash(template: ReportTemplate, period: str, regulator: str, nonce: bytes) -> bytes:
    """SHA-256 naming one request: template and version, period, regulator and a fresh nonce."""
    digest = hashlib.sha256(length_prefixed(_REQUEST_LABEL))
    for part in (template.template_id.encode(), period.encode(), regulator.encode(), nonce):
        digest.update(length_prefixed(part))
    digest.update(i2osp(template.version, 4))
    return digest.digest()


def phase_hash(request_hash: bytes, phase: Phase) -> bytes:
    """The hash phase ``phase`` binds its masks to (a different one per phase)."""
    return hashlib.sha256(length_prefixed(_PHASE_LABEL) + i2osp(int(phase), 1) + request_hash).digest()


@dataclass(frozen=True)
class ShareLayout:
    """Where each histogram's slices sit in a member's flat vector, for one plan and phase."""

    slices: tuple[tuple[str, str, int, int], ...]

    @classmethod
    def for_plan(cls, template: ReportTemplate, plan: ReleasePlan, phase: Phase) -> ShareLayout:
        """Phase 1: counts then institutions per histogram; phase 2: dominance per gated histogram."""
        slices: list[tuple[str, str, int, int]] = []
        offset = 0
        for histogram in template.histograms:
            gated = plan.histograms[histogram.id].institutions is not None
            if phase is Phase.COUNTS:
                parts = ["counts", "institutions"] if gated else ["counts"]
            else:
                parts = ["dominance"] if gated else []
            for part in parts:
                width = template.width(histogram)
                slices.append((histogram.id, part, offset, offset + width))
                offset += width
        return cls(tuple(slices))

    @property
    def width(self) -> int:
        """Length of the flat vector."""
        return self.slices[-1][3] if self.slices else 0

    def pack(self, parts: Mapping[tuple[str, str], SignedValues]) -> SignedValues:
        """One flat vector from ``(histogram id, part) -> vector``.

        Raises
        ------
        InvalidInputError
            When a part is missing or has the wrong length.

        """
        flat = np.zeros(self.width, dtype=np.int64)
        for histogram_id, part, start, end in self.slices:
            vector = parts.get((histogram_id, part))
            if vector is None or vector.shape != (end - start,):
                raise InvalidInputError(
                    f"expected {end - start} values for {histogram_id}.{part}", field="parts"
                )
            flat[start:end] = vector
        return flat

    def unpack(self, flat: SignedValues) -> dict[tuple[str, str], SignedValues]:
        """Inverse of :meth:`pack`."""
        if flat.shape != (self.width,):
            raise InvalidInputError(f"expected {self.width} values, received {flat.shape}", field="share")
        return {(h, part): flat[start:end] for h, part, start, end in self.slices}

    def part(self, name: str) -> Sequence[tuple[str, int, int]]:
        """``(histogram id, start, end)`` of every slice named ``name``."""
        return [(h, start, end) for h, part, start, end in self.slices if part == name]
