"""From unmasked noisy sums to release cells: the plan, the gates and the published figures.

Per histogram, the bureau opens these masked sums over the answering members (each vector
carries Skellam noise shares, ``noise.py``):

``counts``
    Σ bounded counts + noise: the cells.
``margin0``, ``margin1``, …
    Σ totals by some of the dimensions + noise: each measured level of the hierarchy.
``institutions``
    Σ 1[own count > 0] + noise: how many members contribute to each cell.
``dominance``
    Σ 1[own count > share · T̃] + noise, computed by each member in a second phase against
    the noisy totals T̃ of phase one: how many members hold more than the dominance share.

No per-member figure is revealed: every vector is masked as in the subject check, and only
the noisy sums are opened. The institution and dominance vectors are borrower-level
sensitive too (one borrower can make a member present in a cell), so they carry their own
noise and their own ρ; the gates compare *noisy* values, which is post-processing.

Published figures (issue #13) are the least-squares reconciliation of the cells and the
measured totals (``estimate.py``): unbiased, and every total equals the sum of its parts.
Suppression hides a cell's figure; the cell stays inside every total it belongs to, so no sum
is biased. The lenders-per-borrower histogram is measured as buckets by holders count and
estimated back to persons.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from gateway.aggregation.field import SignedValues
from gateway.errors import InvalidInputError
from gateway.reports.estimate import Measurement, controlled_round, persons_from_buckets, reconcile
from gateway.reports.histograms import Counts, Period
from gateway.reports.noise import NoisePlan
from gateway.reports.templates import Feed, HistogramSpec, MarginSpec, ReportTemplate

__all__ = [
    "HistogramMeasurements",
    "HistogramRelease",
    "MarginRelease",
    "Release",
    "ReleaseCell",
    "ReleaseKey",
    "ReleasePlan",
    "SuppressionReason",
    "Treatment",
    "build_release",
    "dominance_flags",
    "institution_indicators",
    "noise_weights",
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
    """Noise plans of one histogram: cells, measured totals, and the gates when the rules apply."""

    counts: NoisePlan
    margins: tuple[NoisePlan, ...]
    rho_counts: float
    institutions: NoisePlan | None
    dominance: NoisePlan | None
    rho_institutions: float
    rho_dominance: float
    # Whether a person at k members moves this histogram k times (False for lenders per
    # borrower: a person moves one bucket, whatever k).
    scales_with_members: bool

    @property
    def rho_gates(self) -> float:
        """ρ of the institution and dominance vectors."""
        return self.rho_institutions + self.rho_dominance

    @property
    def rho(self) -> float:
        """ρ of everything this histogram measures."""
        return self.rho_counts + self.rho_gates


@dataclass(frozen=True)
class ReleasePlan:
    """Everything a member needs to add noise for one attempt, and what the release costs."""

    answering: int
    colluders: int
    rules_apply: bool
    max_members_per_person: int
    histograms: Mapping[str, HistogramPlan]

    @property
    def rho(self) -> float:
        """Total zCDP ρ charged for the release at each member (composition by addition)."""
        return math.fsum(plan.rho for plan in self.histograms.values())

    @property
    def rho_counts_phase(self) -> float:
        """ρ a member is charged for each phase-1 attempt it answers (cells, totals, institutions)."""
        return math.fsum(p.rho_counts + p.rho_institutions for p in self.histograms.values())

    @property
    def rho_dominance_phase(self) -> float:
        """ρ a member is charged for each phase-2 attempt it answers (dominance flags)."""
        return math.fsum(p.rho_dominance for p in self.histograms.values())

    @property
    def rho_per_person(self) -> float:
        """ρ of the release for one person held at ``max_members_per_person`` members.

        A person's bounded contributions at k members add up to k times one member's, so the
        sensitivity is k times larger and ρ = Δ²/(2σ²) k² times larger (members leave out every
        person held at more members). A person moves the lenders-per-borrower buckets once.
        """
        k = self.max_members_per_person
        return math.fsum(p.rho * (k * k if p.scales_with_members else 1) for p in self.histograms.values())


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

        def plan(rho: float, spec: HistogramSpec = histogram, *, l1: float | None = None) -> NoisePlan:
            return NoisePlan.for_rho(
                rho,
                l1_sensitivity=spec.l1_sensitivity if l1 is None else l1,
                l2_sensitivity=spec.l2_sensitivity if l1 is None else l1,
                answering=answering,
                colluders=rules.colluders,
            )

        gated = rules_apply and histogram.institution_rules
        plans[histogram.id] = HistogramPlan(
            counts=plan(histogram.rho),
            margins=tuple(plan(m.rho, l1=histogram.margin_sensitivity) for m in histogram.margins),
            rho_counts=histogram.total_rho,
            institutions=plan(rules.rho_institutions) if gated else None,
            dominance=plan(rules.rho_dominance) if gated else None,
            rho_institutions=rules.rho_institutions if gated else 0.0,
            rho_dominance=rules.rho_dominance if gated else 0.0,
            scales_with_members=histogram.feed is not Feed.LENDERS_PER_BORROWER,
        )
    return ReleasePlan(answering, rules.colluders, rules_apply, rules.max_members_per_person, plans)


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
    """One published (or suppressed) figure; ``noisy_count`` is ``None`` when suppressed.

    ``noisy_count`` is the published estimate: unbiased, rounded, and consistent with the
    totals; ``standard_error`` its standard error.
    """

    coordinates: tuple[str, ...]
    noisy_count: int | None
    treatment: Treatment
    reasons: tuple[SuppressionReason, ...] = ()
    standard_error: float = 0.0


@dataclass(frozen=True)
class MarginRelease:
    """Published totals of one level of a histogram (by ``dimensions``; none: the grand total)."""

    dimensions: tuple[str, ...]
    cells: tuple[ReleaseCell, ...]


@dataclass(frozen=True)
class HistogramRelease:
    """The released cells of one histogram, its totals, and the noise behind them."""

    histogram_id: str
    title: str
    dimensions: tuple[str, ...]
    rho: float
    noise_variance: float
    cells: tuple[ReleaseCell, ...]
    margins: tuple[MarginRelease, ...] = ()

    def margin(self, dimensions: tuple[str, ...]) -> MarginRelease | None:
        """The published totals by ``dimensions``, if any."""
        return next((m for m in self.margins if m.dimensions == dimensions), None)

    @property
    def total(self) -> ReleaseCell:
        """The grand total (every histogram publishes one)."""
        grand = self.margin(())
        if grand is None or len(grand.cells) != 1:
            raise InvalidInputError(f"histogram {self.histogram_id} has no grand total", field="margins")
        return grand.cells[0]


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
    # The per-person guarantee: a person counted at up to this many members (enforced) pays
    # ``rho_per_person`` for this release.
    max_members_per_person: int = 1
    rho_per_person: float = 0.0

    @property
    def key(self) -> ReleaseKey:
        """The cache key of this release."""
        return ReleaseKey(self.template_id, self.period, self.regulator)

    def histogram(self, histogram_id: str) -> HistogramRelease:
        """The released histogram ``histogram_id``.

        Raises
        ------
        InvalidInputError
            When the release has no such histogram.

        """
        for histogram in self.histograms:
            if histogram.histogram_id == histogram_id:
                return histogram
        raise InvalidInputError(f"no histogram {histogram_id!r} in this release", field="histogram_id")

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
            "max_members_per_person": self.max_members_per_person,
            "rho_per_person": self.rho_per_person,
            "histograms": [
                {
                    "histogram_id": h.histogram_id,
                    "title": h.title,
                    "dimensions": list(h.dimensions),
                    "rho": h.rho,
                    "noise_variance": h.noise_variance,
                    "cells": [_cell_to_json(c) for c in h.cells],
                    "margins": [
                        {"dimensions": list(m.dimensions), "cells": [_cell_to_json(c) for c in m.cells]}
                        for m in h.margins
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
                max_members_per_person=int(record.get("max_members_per_person", 1)),
                rho_per_person=float(record.get("rho_per_person", 0.0)),
                histograms=tuple(
                    HistogramRelease(
                        histogram_id=str(h["histogram_id"]),
                        title=str(h["title"]),
                        dimensions=tuple(str(d) for d in h["dimensions"]),
                        rho=float(h["rho"]),
                        noise_variance=float(h["noise_variance"]),
                        cells=tuple(_cell_from_json(c) for c in h["cells"]),
                        margins=tuple(
                            MarginRelease(
                                tuple(str(d) for d in m["dimensions"]),
                                tuple(_cell_from_json(c) for c in m["cells"]),
                            )
                            for m in h.get("margins", [])
                        ),
                    )
                    for h in record["histograms"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed cached release: {exc}", field="release") from exc


def _cell_to_json(cell: ReleaseCell) -> list[Any]:
    return [
        list(cell.coordinates),
        cell.noisy_count,
        cell.treatment.value,
        [r.value for r in cell.reasons],
        cell.standard_error,
    ]


def _cell_from_json(record: Sequence[Any]) -> ReleaseCell:
    coordinates, count, treatment, reasons, *rest = record
    return ReleaseCell(
        tuple(str(label) for label in coordinates),
        None if count is None else int(count),
        Treatment(treatment),
        tuple(SuppressionReason(reason) for reason in reasons),
        float(rest[0]) if rest else 0.0,
    )


@dataclass(frozen=True)
class HistogramMeasurements:
    """The opened noisy sums of one histogram: cells, measured totals and (when gated) gates."""

    counts: SignedValues
    margins: tuple[SignedValues, ...] = ()
    institutions: SignedValues | None = None
    dominance: SignedValues | None = None


def build_release(
    template: ReportTemplate,
    plan: ReleasePlan,
    *,
    period: Period,
    regulator: str,
    measurements: Mapping[str, HistogramMeasurements],
    released_at: dt.datetime,
) -> Release:
    """Reconcile, round and suppress: the published figures of every histogram.

    Parameters
    ----------
    template, plan
        The template and the plan the members noised under.
    period, regulator
        What the release is for.
    measurements
        The opened noisy sums per histogram id; the gate sums are required exactly for the
        histograms the plan gates.
    released_at
        When the release was made (aware UTC).

    Raises
    ------
    InvalidInputError
        When a vector is missing or has the wrong length, or gate sums are missing or
        unexpected.

    """
    histograms: list[HistogramRelease] = []
    for histogram in template.histograms:
        if histogram.id not in measurements:
            raise InvalidInputError(
                f"expected measurements for histogram {histogram.id!r}", field="noisy_counts"
            )
        histograms.append(
            _histogram_release(template, histogram, plan.histograms[histogram.id], measurements[histogram.id])
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
        max_members_per_person=plan.max_members_per_person,
        rho_per_person=plan.rho_per_person,
    )


def _histogram_release(
    template: ReportTemplate, histogram: HistogramSpec, plan: HistogramPlan, measured: HistogramMeasurements
) -> HistogramRelease:
    width = template.width(histogram)
    counts = _checked(measured.counts, width, "noisy_counts")
    gated = plan.institutions is not None
    if gated != (measured.institutions is not None and measured.dominance is not None):
        raise InvalidInputError(
            f"expected institution and dominance sums {'' if gated else 'not '}to be given "
            f"for {histogram.id}",
            field="noisy_institutions",
        )
    if len(measured.margins) != len(histogram.margins):
        raise InvalidInputError(f"expected {len(histogram.margins)} measured totals", field="margins")
    if histogram.feed is Feed.LENDERS_PER_BORROWER:
        errors, levels = _persons_by_lenders(template, histogram, plan, counts)
    else:
        errors, levels = _reconciled(template, histogram, plan, measured, counts)
    rounded = controlled_round(levels)
    published = rounded[-1]
    rules = template.release
    institutions = _checked(measured.institutions, width, "noisy_institutions") if gated else None
    dominance = _checked(measured.dominance, width, "noisy_dominance") if gated else None
    cells: list[ReleaseCell] = []
    for index in range(width):
        reasons: list[SuppressionReason] = []
        if int(published[index]) < rules.noisy_count_threshold:
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
            cells.append(
                ReleaseCell(
                    coordinates, int(published[index]), Treatment.NOISED, (), float(errors[-1][index])
                )
            )
    margins = tuple(
        MarginRelease(
            dimensions,
            tuple(
                ReleaseCell(
                    template.margin_coordinates(histogram, _margin_spec(dimensions), i),
                    int(value),
                    Treatment.NOISED,
                    (),
                    float(error),
                )
                for i, (value, error) in enumerate(zip(figures, standard_errors, strict=True))
            ),
        )
        for dimensions, figures, standard_errors in zip(
            _level_dimensions(histogram), rounded[:-1], errors[:-1], strict=True
        )
    )
    return HistogramRelease(
        histogram.id,
        histogram.title,
        histogram.dimensions,
        plan.rho,
        plan.counts.total_variance,
        tuple(cells),
        margins,
    )


Levels = list[tuple[npt.NDArray[np.float64], list[int] | None]]


def _level_dimensions(histogram: HistogramSpec) -> list[tuple[str, ...]]:
    """Dimensions of each published level above the cells: the grand total, then each margin."""
    levels = [()] + [m.dimensions for m in histogram.margins if m.dimensions]
    return levels


def _margin_spec(dimensions: tuple[str, ...]) -> MarginSpec:
    return MarginSpec(dimensions=dimensions, rho=1.0)


def _reconciled(
    template: ReportTemplate,
    histogram: HistogramSpec,
    plan: HistogramPlan,
    measured: HistogramMeasurements,
    counts: SignedValues,
) -> tuple[list[npt.NDArray[np.float64]], Levels]:
    width = template.width(histogram)
    observations = [Measurement(None, counts.astype(np.float64), plan.counts.total_variance)]
    for margin, noise, values in zip(histogram.margins, plan.margins, measured.margins, strict=True):
        size = template.margin_width(histogram, margin)
        observations.append(
            Measurement(
                template.margin_index(histogram, margin),
                _checked(values, size, "margins").astype(np.float64),
                noise.total_variance,
            )
        )
    fitted = reconcile(width, observations)
    levels: Levels = []
    errors: list[npt.NDArray[np.float64]] = []
    previous: tuple[str, ...] | None = None
    for dimensions in _level_dimensions(histogram):
        spec = _margin_spec(dimensions)
        size = template.margin_width(histogram, spec)
        totals, standard_errors = fitted.totals(template.margin_index(histogram, spec), size)
        parents = None if previous is None else _parents(template, histogram, previous, dimensions)
        levels.append((totals, parents))
        errors.append(standard_errors)
        previous = dimensions
    assert previous is not None  # the grand total is always a level
    levels.append((fitted.cells, _parents(template, histogram, previous, histogram.dimensions)))
    errors.append(fitted.standard_errors)
    return errors, levels


def _parents(
    template: ReportTemplate, histogram: HistogramSpec, coarse: tuple[str, ...], fine: tuple[str, ...]
) -> list[int]:
    """For each entry of the ``fine`` level, the entry of the ``coarse`` level it sums into."""
    fine_index = (
        template.margin_index(histogram, _margin_spec(fine))
        if fine != histogram.dimensions
        else list(range(template.width(histogram)))
    )
    coarse_index = template.margin_index(histogram, _margin_spec(coarse))
    parents = [0] * (max(fine_index) + 1)
    for cell, entry in enumerate(fine_index):
        parents[entry] = coarse_index[cell]
    return parents


def _persons_by_lenders(
    template: ReportTemplate, histogram: HistogramSpec, plan: HistogramPlan, counts: SignedValues
) -> tuple[list[npt.NDArray[np.float64]], Levels]:
    """Buckets by holders count (noisy) → persons by number of lenders, and their grand total."""
    persons, total = persons_from_buckets(counts.astype(np.float64), template.holders_buckets)
    # Each class's estimate is its buckets' count over g₀ plus small corrections; g₀ is within
    # a few percent of 1, so the buckets' noise is its error to that order.
    sigma = math.sqrt(plan.counts.total_variance)
    errors = [np.array([sigma * math.sqrt(persons.size)]), np.full(persons.size, sigma)]
    return errors, [(np.array([total]), None), (persons, [0] * persons.size)]


def noise_weights(
    template: ReportTemplate, histogram: HistogramSpec, plan: HistogramPlan
) -> list[tuple[tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """How each published level's figures weigh the measured noises (for tests and benchmarks).

    Returns, per level (the grand total, each measured margin, then the cells), the
    dimensions, a matrix whose row ``i`` gives the weights of figure ``i`` on every measured
    value (cells, then each margin's totals, stacked), and the variance of each measured value.
    A figure's error before rounding is that weighted sum of independent Skellam noises.
    """
    width = template.width(histogram)
    observations = [Measurement(None, np.zeros(width), plan.counts.total_variance)]
    variances = [np.full(width, plan.counts.total_variance)]
    for margin, noise in zip(histogram.margins, plan.margins, strict=True):
        size = template.margin_width(histogram, margin)
        observations.append(
            Measurement(template.margin_index(histogram, margin), np.zeros(size), noise.total_variance)
        )
        variances.append(np.full(size, noise.total_variance))
    fitted = reconcile(width, observations)
    stacked = np.concatenate(variances)
    levels = []
    for dimensions in _level_dimensions(histogram):
        spec = _margin_spec(dimensions)
        size = template.margin_width(histogram, spec)
        matrix = np.zeros((size, width))
        matrix[np.asarray(template.margin_index(histogram, spec)), np.arange(width)] = 1.0
        levels.append((dimensions, matrix @ fitted.gain, stacked))
    levels.append((histogram.dimensions, fitted.gain, stacked))
    return levels


def _checked(vector: SignedValues | None, width: int, name: str) -> SignedValues:
    if vector is None or vector.shape != (width,):
        shape = None if vector is None else vector.shape
        raise InvalidInputError(f"expected shape ({width},), received {shape}", field=name)
    return vector
