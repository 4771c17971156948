"""What travels in one report round, and how a member's vector is laid out.

Phase 3 runs first: the holders count (``holders.py``). Phase 1 carries, per histogram, the
bounded counts, the measured totals and (where the institution rules apply) the institution
indicators; phase 2 carries the dominance flags. Each phase binds its masks to its own
context hash — the request, the phase and the phase's inputs (the opened holders count for
phase 1, the noisy totals for phase 2) — so no pairwise mask is ever used twice, and a bureau
that shows members different inputs gets sums whose masks do not cancel.
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
from gateway.reports.order import SignedOrder
from gateway.reports.release import ReleasePlan
from gateway.reports.templates import ReportTemplate

__all__ = ["OpenRequest", "Phase", "ShareLayout", "ShareRequest", "context_hash", "totals_digest"]

_PHASE_LABEL = b"credgate/v1/report-phase"
_TOTALS_LABEL = b"credgate/v1/report-totals"


class Phase(IntEnum):
    """Which vector a round asks for (3, the holders count, runs first)."""

    COUNTS = 1
    DOMINANCE = 2
    HOLDERS = 3


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
    order: SignedOrder
    noisy_totals: tuple[int, ...] = ()


@dataclass(frozen=True)
class OpenRequest:
    """The bureau asking a member to reveal the self-mask of one attempt."""

    request_hash: bytes
    phase: Phase
    attempt: int
    answering_set_hash: bytes


def context_hash(request_hash: bytes, phase: Phase, inputs: bytes = b"") -> bytes:
    """The hash a phase binds its masks to: request, phase, and the digest of its inputs."""
    return hashlib.sha256(
        length_prefixed(_PHASE_LABEL) + i2osp(int(phase), 1) + request_hash + length_prefixed(inputs)
    ).digest()


def totals_digest(noisy_totals: Sequence[int]) -> bytes:
    """SHA-256 of the phase-1 noisy totals phase 2 is computed against."""
    digest = hashlib.sha256(length_prefixed(_TOTALS_LABEL))
    for value in noisy_totals:
        digest.update(int(value).to_bytes(8, "big", signed=True))
    return digest.digest()


@dataclass(frozen=True)
class ShareLayout:
    """Where each histogram's slices sit in a member's flat vector, for one plan and phase."""

    slices: tuple[tuple[str, str, int, int], ...]

    @classmethod
    def for_plan(cls, template: ReportTemplate, plan: ReleasePlan, phase: Phase) -> ShareLayout:
        """Phase 1: counts, each measured total, then institutions per histogram; phase 2: dominance."""
        slices: list[tuple[str, str, int, int]] = []
        offset = 0
        for histogram in template.histograms:
            gated = plan.histograms[histogram.id].institutions is not None
            parts: list[tuple[str, int]] = []
            if phase is Phase.COUNTS:
                parts.append(("counts", template.width(histogram)))
                parts.extend(
                    (f"margin{number}", template.margin_width(histogram, margin))
                    for number, margin in enumerate(histogram.margins)
                )
                if gated:
                    parts.append(("institutions", template.width(histogram)))
            elif phase is Phase.DOMINANCE and gated:
                parts.append(("dominance", template.width(histogram)))
            for part, width in parts:
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
