"""From unmasked noisy sums to release cells: the plan, the gates and the released figures.

Per histogram, the regulator opens up to three masked sums over the answering members
(each vector carries Skellam noise shares, ``noise.py``):

``counts``
    Σ bounded counts + noise: the figure released.
``institutions``
    Σ 1[own count > 0] + noise: how many members contribute to each cell.
``dominance``
    Σ 1[own count > share · T̃] + noise, computed by each member in a second phase against
    the noisy totals T̃ of phase one: how many members hold more than the dominance share.

No per-member figure is revealed: every vector is masked as in the subject check, and only
the noisy sums are opened. The institution and dominance vectors are borrower-level
sensitive too (one borrower can make a member present in a cell), so they carry their own
noise and their own ρ; the gates compare *noisy* values, which is post-processing.
Suppression on noisy counts is post-processing as well: it costs no budget and nothing
suppressed can be derived from the released cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from gateway.aggregation.field import SignedValues
from gateway.errors import InvalidInputError
from gateway.reports.histograms import Counts, Period
from gateway.reports.noise import NoisePlan
from gateway.reports.templates import HistogramSpec, ReportTemplate

__all__ = [
    "HistogramRelease",
    "Release",
    "ReleaseCell",
    "ReleaseKey",
    "ReleasePlan",
    "SuppressionReason",
    "Treatment",
    "build_release",
    "dominance_flags",
    "institution_indicators",
    "plan_release",
]


class Treatment(StrEnum):
    """What happened to a cell."""

    NOISED = "noised"
    SUPPRESSED = "suppressed"


class SuppressionReason(StrEnum):
    """Why a cell was suppressed."""

    BELOW_THRESHOLD = "below_release_threshold"
    FEW_INSTITUTIONS = "too_few_institutions"
    DOMINANT_INSTITUTION = "dominant_institution"


@dataclass(frozen=True)
class ReleaseKey:
    """What identifies a release: a repeated request with the same key gets the cached release."""

    template_id: str
    period: str
    regulator: str

    def __str__(self) -> str:
        """``template/period/regulator``."""
        return f"{self.template_id}/{self.period}/{self.regulator}"


@dataclass(frozen=True)
class HistogramPlan:
    """Noise plans of one histogram: counts, and the gate vectors when the rules apply."""

    counts: NoisePlan
    rho_counts: float
    institutions: NoisePlan | None
    dominance: NoisePlan | None
    rho_gates: float


@dataclass(frozen=True)
class ReleasePlan:
    """Everything a member needs to add noise for one attempt, and what the release costs."""

    answering: int
    colluders: int
    rules_apply: bool
    histograms: Mapping[str, HistogramPlan]

    @property
    def rho(self) -> float:
        """Total zCDP ρ charged for the release at each member (composition by addition)."""
        return sum(plan.rho_counts + plan.rho_gates for plan in self.histograms.values())


def plan_release(template: ReportTemplate, *, answering: int) -> ReleasePlan:
    """Size the noise for ``answering`` members less the template's colluders.

    Raises
    ------
    InvalidInputError
        When fewer members answer than the colluders plus one.

    """
    rules = template.release
    rules_apply = answering >= rules.institution_rules_min_members
    plans: dict[str, HistogramPlan] = {}
    for histogram in template.histograms:

        def plan(rho: float, spec: HistogramSpec = histogram) -> NoisePlan:
            return NoisePlan.for_rho(
                rho,
                l1_sensitivity=spec.l1_sensitivity,
                l2_sensitivity=spec.l2_sensitivity,
                answering=answering,
                colluders=rules.colluders,
            )

        gated = rules_apply and histogram.institution_rules
        plans[histogram.id] = HistogramPlan(
            counts=plan(histogram.rho),
            rho_counts=histogram.rho,
            institutions=plan(rules.rho_institutions) if gated else None,
            dominance=plan(rules.rho_dominance) if gated else None,
            rho_gates=rules.rho_institutions + rules.rho_dominance if gated else 0.0,
        )
    return ReleasePlan(answering, rules.colluders, rules_apply, plans)


def institution_indicators(own_counts: Counts) -> Counts:
    """A member's institution vector: 1 in every cell where it has a non-zero count."""
    indicators: Counts = (own_counts > 0).astype(np.int64)
    return indicators


def dominance_flags(own_counts: Counts, noisy_totals: SignedValues, *, share: float) -> Counts:
    """A member's phase-two flags: 1 where its own count exceeds ``share`` of the noisy total.

    The noisy totals are the phase-one release (already differentially private), so using
    them here is post-processing; the flags themselves are noised before they are summed.
    """
    if own_counts.shape != noisy_totals.shape:
        raise InvalidInputError(
            f"expected totals of shape {own_counts.shape}, received {noisy_totals.shape}",
            field="noisy_totals",
        )
    flags: Counts = ((own_counts > 0) & (own_counts > share * np.maximum(noisy_totals, 0))).astype(np.int64)
    return flags


@dataclass(frozen=True)
class ReleaseCell:
    """One released (or suppressed) cell; ``noisy_count`` is ``None`` when suppressed."""

    coordinates: tuple[str, ...]
    noisy_count: int | None
    treatment: Treatment
    reasons: tuple[SuppressionReason, ...] = ()


@dataclass(frozen=True)
class HistogramRelease:
    """The released cells of one histogram and the noise behind them."""

    histogram_id: str
    title: str
    dimensions: tuple[str, ...]
    rho: float
    noise_variance: float
    cells: tuple[ReleaseCell, ...]


@dataclass(frozen=True)
class Release:
    """A whole report release: what the regulator receives and what is cached."""

    template_id: str
    template_version: int
    period: str
    regulator: str
    answering_members: int
    colluders: int
    institution_rules_applied: bool
    rho: float
    released_at: dt.datetime
    histograms: tuple[HistogramRelease, ...] = field(default=())

    @property
    def key(self) -> ReleaseKey:
        """The cache key of this release."""
        return ReleaseKey(self.template_id, self.period, self.regulator)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the cache record)."""
        return {
            "template_id": self.template_id,
            "template_version": self.template_version,
            "period": self.period,
            "regulator": self.regulator,
            "answering_members": self.answering_members,
            "colluders": self.colluders,
            "institution_rules_applied": self.institution_rules_applied,
            "rho": self.rho,
            "released_at": self.released_at.isoformat(),
            "histograms": [
                {
                    "histogram_id": h.histogram_id,
                    "title": h.title,
                    "dimensions": list(h.dimensions),
                    "rho": h.rho,
                    "noise_variance": h.noise_variance,
                    "cells": [
                        [list(c.coordinates), c.noisy_count, c.treatment.value, [r.value for r in c.reasons]]
                        for c in h.cells
                    ],
                }
                for h in self.histograms
            ],
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Release:
        """Inverse of :meth:`to_json`.

        Raises
        ------
        InvalidInputError
            When the record does not have the expected shape.

        """
        try:
            return cls(
                template_id=str(record["template_id"]),
                template_version=int(record["template_version"]),
                period=str(record["period"]),
                regulator=str(record["regulator"]),
                answering_members=int(record["answering_members"]),
                colluders=int(record["colluders"]),
                institution_rules_applied=bool(record["institution_rules_applied"]),
                rho=float(record["rho"]),
                released_at=dt.datetime.fromisoformat(str(record["released_at"])),
                histograms=tuple(
                    HistogramRelease(
                        histogram_id=str(h["histogram_id"]),
                        title=str(h["title"]),
                        dimensions=tuple(str(d) for d in h["dimensions"]),
                        rho=float(h["rho"]),
                        noise_variance=float(h["noise_variance"]),
                        cells=tuple(
                            ReleaseCell(
                                tuple(str(label) for label in coordinates),
                                None if count is None else int(count),
                                Treatment(treatment),
                                tuple(SuppressionReason(reason) for reason in reasons),
                            )
                            for coordinates, count, treatment, reasons in h["cells"]
                        ),
                    )
                    for h in record["histograms"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed cached release: {exc}", field="release") from exc


def build_release(
    template: ReportTemplate,
    plan: ReleasePlan,
    *,
    period: Period,
    regulator: str,
    noisy_counts: Mapping[str, SignedValues],
    noisy_institutions: Mapping[str, SignedValues] | None = None,
    noisy_dominance: Mapping[str, SignedValues] | None = None,
    released_at: dt.datetime,
) -> Release:
    """Apply the suppression threshold and (when they apply) the institution gates.

    Parameters
    ----------
    template, plan
        The template and the plan the members noised under.
    period, regulator
        What the release is for.
    noisy_counts, noisy_institutions, noisy_dominance
        Unmasked noisy sums per histogram id; the gate sums are required exactly when
        ``plan.rules_apply``.
    released_at
        When the release was made (aware UTC).

    Raises
    ------
    InvalidInputError
        When a vector is missing or has the wrong length, or gate sums are missing or
        unexpected.

    """
    if plan.rules_apply != (noisy_institutions is not None and noisy_dominance is not None):
        raise InvalidInputError(
            f"expected institution and dominance sums {'' if plan.rules_apply else 'not '}to be given "
            f"({plan.answering} members answered)",
            field="noisy_institutions",
        )
    rules = template.release
    histograms: list[HistogramRelease] = []
    for histogram in template.histograms:
        width = template.width(histogram)
        counts = _vector(noisy_counts, histogram.id, width, "noisy_counts")
        if counts is None:  # Unreachable: noisy_counts is never None; this narrows the type.
            raise InvalidInputError("expected noisy counts", field="noisy_counts")
        gated = plan.histograms[histogram.id].institutions is not None
        institutions = (
            _vector(noisy_institutions, histogram.id, width, "noisy_institutions") if gated else None
        )
        dominance = _vector(noisy_dominance, histogram.id, width, "noisy_dominance") if gated else None
        cells: list[ReleaseCell] = []
        for index in range(width):
            reasons: list[SuppressionReason] = []
            if int(counts[index]) < rules.noisy_count_threshold:
                reasons.append(SuppressionReason.BELOW_THRESHOLD)
            if institutions is not None and int(institutions[index]) < rules.min_institutions:
                reasons.append(SuppressionReason.FEW_INSTITUTIONS)
            # The flag sum counts dominant members; a noisy value of 1 or more means "some".
            if dominance is not None and int(dominance[index]) >= 1:
                reasons.append(SuppressionReason.DOMINANT_INSTITUTION)
            coordinates = template.coordinates(histogram, index)
            if reasons:
                cells.append(ReleaseCell(coordinates, None, Treatment.SUPPRESSED, tuple(reasons)))
            else:
                cells.append(ReleaseCell(coordinates, int(counts[index]), Treatment.NOISED))
        histogram_plan = plan.histograms[histogram.id]
        histograms.append(
            HistogramRelease(
                histogram.id,
                histogram.title,
                histogram.dimensions,
                histogram_plan.rho_counts + histogram_plan.rho_gates,
                histogram_plan.counts.total_variance,
                tuple(cells),
            )
        )
    return Release(
        template_id=template.template_id,
        template_version=template.version,
        period=str(period),
        regulator=regulator,
        answering_members=plan.answering,
        colluders=plan.colluders,
        institution_rules_applied=plan.rules_apply,
        rho=plan.rho,
        released_at=released_at,
        histograms=tuple(histograms),
    )


def _vector(
    vectors: Mapping[str, SignedValues] | None, histogram_id: str, width: int, name: str
) -> SignedValues | None:
    if vectors is None:
        return None
    if histogram_id not in vectors:
        raise InvalidInputError(f"expected a vector for histogram {histogram_id!r}", field=name)
    vector = vectors[histogram_id]
    if vector.shape != (width,):
        raise InvalidInputError(f"expected shape ({width},), received {vector.shape}", field=name)
    return vector
