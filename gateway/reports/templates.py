"""Report templates: which histograms a regulator report holds, read from ``policies/report_templates/``.

A template fixes the shape of every histogram (its dimensions and their cell labels), the
contribution bounds that make its sensitivity known, the zCDP ρ each release spends, and the
release thresholds. It is validated by pydantic on load and immutable afterwards; a validation
error names the offending key (``histograms.1.dimensions``).
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway._internal.policy_file import load_policy_file
from gateway.errors import ConfigError, InvalidInputError

__all__ = [
    "FEED_DIMENSIONS",
    "TEMPLATES_DIR",
    "Dimension",
    "Feed",
    "HistogramSpec",
    "MarginSpec",
    "ReleaseRules",
    "ReportTemplate",
    "RoundRules",
    "load_template",
]

TEMPLATES_DIR = "report_templates"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Feed(StrEnum):
    """Which member data feeds a histogram; each is computed in ``histograms.py``."""

    # One observation per borrower and segment with active debt at a lender: the segment,
    # the borrower's province, the worst days past due and the total outstanding balance.
    ACTIVE_DEBT = "active_debt"
    # One observation per distinct subject token and reason the member queried.
    INQUIRIES_BY_REASON = "inquiries_by_reason"
    # One observation per applicant and segment: the decision on their latest application.
    APPLICATIONS_BY_DECISION = "applications_by_decision"
    # Borrowers by how many lenders hold them: the holders count of phase 3
    # (``gateway/queries/reports/holders.py``) binned by bucket, estimated back to persons.
    LENDERS_PER_BORROWER = "lenders_per_borrower"
    # One observation per debtor and contact rule this member (or its agency) broke in the
    # period: quiet hours, the connected-call cap, the unanswered-attempt cap.
    CONTACT_VIOLATIONS = "contact_violations"
    # One observation per debtor and rule that made the bureau refuse a contact this member
    # asked to clear in the period (the member's own clearance log).
    CONTACTS_PREVENTED = "contacts_prevented"
    # One observation per complaint received here in the period: category, grade and whether
    # its first response and resolution plan came within the clocks (met, missed, pending).
    COMPLAINTS = "complaints"
    # One observation per debtor and conduct rule flagged by this node's screening in the period.
    CONDUCT_FLAGS = "conduct_flags"


FEED_DIMENSIONS: dict[Feed, frozenset[str]] = {
    Feed.ACTIVE_DEBT: frozenset({"segment", "province", "dpd_bucket", "outstanding_bucket"}),
    Feed.INQUIRIES_BY_REASON: frozenset({"reason_code"}),
    Feed.APPLICATIONS_BY_DECISION: frozenset({"segment", "province", "decision"}),
    Feed.LENDERS_PER_BORROWER: frozenset({"lender_count"}),
    Feed.CONTACT_VIOLATIONS: frozenset({"contact_rule"}),
    Feed.CONTACTS_PREVENTED: frozenset({"prevented_by"}),
    Feed.COMPLAINTS: frozenset({"complaint_category", "complaint_grade", "sla"}),
    Feed.CONDUCT_FLAGS: frozenset({"conduct_rule"}),
}
"""Dimension names each feed can fill; a template naming another is rejected on load."""


class Dimension(_Frozen):
    """One axis of a histogram: categorical labels, or half-open numeric buckets.

    ``lower_bounds`` (when given) turns the dimension into buckets: value ``v`` falls in
    the last bucket whose lower bound is ``<= v``. ``other_label`` adds a catch-all cell
    for categorical values that are not listed. ``codes`` are the ASCII names cells travel
    under (e.g. GB/T 2260 division codes for provinces), for labels that are not ASCII.
    """

    title: str = Field(min_length=1)
    labels: tuple[str, ...] = Field(min_length=1)
    lower_bounds: tuple[int, ...] | None = None
    other_label: str | None = None
    codes: tuple[str, ...] | None = None
    # Simplified Chinese title and cell labels for the report (the default language).
    title_zh: str | None = None
    labels_zh: tuple[str, ...] | None = None
    other_label_zh: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Dimension:
        if len(set(self.cells)) != len(self.cells):
            raise ValueError("labels (and other_label) must be distinct")
        if self.lower_bounds is not None:
            if self.other_label is not None:
                raise ValueError("a bucketed dimension cannot have an other_label")
            if len(self.lower_bounds) != len(self.labels):
                raise ValueError(
                    f"expected as many lower_bounds as labels ({len(self.labels)}), "
                    f"received {len(self.lower_bounds)}"
                )
            if list(self.lower_bounds) != sorted(set(self.lower_bounds)):
                raise ValueError("lower_bounds must be strictly increasing")
        if self.labels_zh is not None and len(self.labels_zh) != len(self.labels):
            raise ValueError(
                f"expected one labels_zh entry per label ({len(self.labels)}), received {len(self.labels_zh)}"
            )
        if self.codes is not None:
            if len(self.codes) != len(self.labels):
                raise ValueError(
                    f"expected one code per label ({len(self.labels)}), received {len(self.codes)}"
                )
            if len(set(self.wire_cells)) != len(self.wire_cells) or not all(c.isascii() for c in self.codes):
                raise ValueError("codes must be distinct ASCII names")
        elif not all(cell.isascii() for cell in self.cells):
            raise ValueError("labels that are not ASCII need codes to travel under")
        return self

    @property
    def cells(self) -> tuple[str, ...]:
        """Cell labels in slot order (the catch-all last)."""
        return self.labels + ((self.other_label,) if self.other_label is not None else ())

    def display_title(self, language: str) -> str:
        """The title in ``language`` (``zh`` or ``en``)."""
        return self.title_zh if language == "zh" and self.title_zh else self.title

    def display_cells(self, language: str) -> tuple[str, ...]:
        """Cell labels in ``language``, in slot order (labels without a translation stay as they are)."""
        if language != "zh" or self.labels_zh is None:
            return self.cells
        other = (self.other_label_zh or self.other_label,) if self.other_label is not None else ()
        return tuple(self.labels_zh) + tuple(o for o in other if o is not None)

    def bucket(self, value: float) -> int:
        """Slot of a numeric ``value`` (values below the first bound fall in the first bucket).

        Raises
        ------
        ConfigError
            When the dimension is categorical.

        """
        if self.lower_bounds is None:
            raise ConfigError(f"dimension {self.title!r} is categorical, not bucketed")
        position = 0
        for number, bound in enumerate(self.lower_bounds):
            if value >= bound:
                position = number
        return position

    @property
    def wire_cells(self) -> tuple[str, ...]:
        """Cell names on the wire, in slot order: the codes where given, else the labels."""
        if self.codes is None:
            return self.cells
        return self.codes + ((self.other_label,) if self.other_label is not None else ())

    def slot(self, label: str) -> int | None:
        """Slot of a categorical ``label``; the catch-all for unlisted labels, else ``None``."""
        if label in self.labels:
            return self.labels.index(label)
        return len(self.labels) if self.other_label is not None else None


class MarginSpec(_Frozen):
    """A level of a histogram's hierarchy measured on its own: totals by some of its dimensions."""

    # Dimensions kept (the others are summed over); empty for the grand total.
    dimensions: tuple[str, ...] = ()
    rho: float = Field(gt=0, le=10)


class HistogramSpec(_Frozen):
    """One histogram of a report: dimensions, feed, contribution bounds, ρ and measured totals."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1)
    title_zh: str | None = None
    dimensions: tuple[str, ...] = Field(min_length=1, max_length=4)
    feed: Feed
    # Per person, per cell, per period, at one member (L∞ bound).
    contribution_bound: int = Field(ge=1, le=100)
    # Cells one person may enter at one member (L0 bound).
    max_cells_per_borrower: int = Field(ge=1, le=1000)
    # ρ of the cells themselves.
    rho: float = Field(gt=0, le=10)
    # Totals measured with their own noise, coarsest first, each level nested in the next
    # (e.g. the grand total, by segment, by segment and DPD bucket). Published totals are the
    # least-squares reconciliation of these with the cells (docs/reports.md).
    margins: tuple[MarginSpec, ...] = ()
    # Whether the institution-count and dominance gates apply to this histogram's cells. The
    # lenders-per-borrower histogram pools every member in every cell by construction.
    institution_rules: bool = True

    @model_validator(mode="after")
    def _nested(self) -> HistogramSpec:
        previous: tuple[str, ...] | None = None
        for margin in self.margins:
            if not set(margin.dimensions) < set(self.dimensions):
                raise ValueError(
                    f"histogram {self.id!r}: margin {list(margin.dimensions)} must keep fewer dimensions "
                    f"than the cells {list(self.dimensions)}"
                )
            if previous is not None and not set(previous) < set(margin.dimensions):
                raise ValueError(f"histogram {self.id!r}: margins must be nested, coarsest first")
            previous = margin.dimensions
        return self

    def display_title(self, language: str) -> str:
        """The title in ``language`` (``zh`` or ``en``)."""
        return self.title_zh if language == "zh" and self.title_zh else self.title

    @property
    def total_rho(self) -> float:
        """ρ of the cells and every measured margin (zCDP composes by addition)."""
        return self.rho + math.fsum(margin.rho for margin in self.margins)

    @property
    def l1_sensitivity(self) -> int:
        """Δ₁ of this member's vector when one borrower is added or removed."""
        return self.contribution_bound * self.max_cells_per_borrower

    @property
    def l2_sensitivity(self) -> float:
        """Δ₂ of this member's vector when one borrower is added or removed."""
        return self.contribution_bound * math.sqrt(self.max_cells_per_borrower)

    @property
    def margin_sensitivity(self) -> float:
        """Δ₁ and Δ₂ of a margin vector: a person's cells may all fall in one total."""
        return float(self.l1_sensitivity)


class ReleaseRules(_Frozen):
    """Suppression and institution thresholds applied to the noisy sums."""

    noisy_count_threshold: int = Field(ge=0)
    min_institutions: int = Field(ge=1)
    max_dominance_share: float = Field(gt=0, le=1)
    institution_rules_min_members: int = Field(ge=3)
    rho_institutions: float = Field(gt=0, le=10)
    rho_dominance: float = Field(gt=0, le=10)
    colluders: int = Field(ge=0, le=5)
    # The most members a person may be counted at in one release (issue #13). Enforced in the
    # holders count: every member leaves out each person whose keyed bucket is held more times,
    # so a person moves a release by at most this many members' bounded contributions.
    max_members_per_person: int = Field(ge=1, le=50)


class RoundRules(_Frozen):
    """How long the bureau waits for members and how often it re-runs over the survivors."""

    member_deadline_seconds: float = Field(gt=0, le=600)
    max_attempts: int = Field(ge=1, le=10)


class ReportTemplate(_Frozen):
    """Everything in one ``policies/report_templates/<id>.toml``, validated."""

    template_id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    title_zh: str | None = None
    time_zone: str
    # The holders count of phase 3 keeps 2^holders_buckets_log2 keyed buckets (two bytes each):
    # more buckets, fewer persons sharing one (docs/reports.md, "Holders count").
    holders_buckets_log2: int = Field(ge=10, le=24)
    release: ReleaseRules
    round: RoundRules
    dimensions: dict[str, Dimension] = Field(min_length=1)
    histograms: tuple[HistogramSpec, ...] = Field(min_length=1)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _references(self) -> ReportTemplate:
        ids = [histogram.id for histogram in self.histograms]
        if len(set(ids)) != len(ids):
            raise ValueError(f"histogram ids must be distinct, received {ids}")
        for histogram in self.histograms:
            unknown = [name for name in histogram.dimensions if name not in self.dimensions]
            if unknown:
                raise ValueError(
                    f"histogram {histogram.id!r} names unknown dimensions {unknown}; "
                    f"expected some of {sorted(self.dimensions)}"
                )
            if len(set(histogram.dimensions)) != len(histogram.dimensions):
                raise ValueError(f"histogram {histogram.id!r} repeats a dimension")
            unfed = sorted(set(histogram.dimensions) - FEED_DIMENSIONS[histogram.feed])
            if unfed:
                raise ValueError(
                    f"histogram {histogram.id!r}: feed {histogram.feed.value!r} cannot fill {unfed}; "
                    f"expected some of {sorted(FEED_DIMENSIONS[histogram.feed])}"
                )
        return self

    def display_title(self, language: str) -> str:
        """The title in ``language`` (``zh`` or ``en``)."""
        return self.title_zh if language == "zh" and self.title_zh else self.title

    @property
    def zone(self) -> ZoneInfo:
        """The time zone periods are evaluated in."""
        return ZoneInfo(self.time_zone)

    def histogram(self, histogram_id: str) -> HistogramSpec:
        """The histogram named ``histogram_id``.

        Raises
        ------
        ConfigError
            When the template has no such histogram.

        """
        for histogram in self.histograms:
            if histogram.id == histogram_id:
                return histogram
        raise ConfigError(f"template {self.template_id!r} has no histogram {histogram_id!r}")

    def shape(self, histogram: HistogramSpec) -> tuple[int, ...]:
        """Number of cells along each dimension of ``histogram``."""
        return tuple(len(self.dimensions[name].cells) for name in histogram.dimensions)

    def width(self, histogram: HistogramSpec) -> int:
        """Number of cells of ``histogram`` (its flattened length)."""
        return math.prod(self.shape(histogram))

    def coordinates(self, histogram: HistogramSpec, index: int) -> tuple[str, ...]:
        """Cell labels of the flat (row-major) ``index`` of ``histogram``."""
        shape = self.shape(histogram)
        labels: list[str] = []
        for name, position in zip(histogram.dimensions, _unravel(index, shape), strict=True):
            labels.append(self.dimensions[name].cells[position])
        return tuple(labels)

    def wire_coordinates(self, histogram: HistogramSpec, index: int) -> tuple[str, ...]:
        """The ASCII cell names of the flat ``index`` of ``histogram``, as they travel."""
        shape = self.shape(histogram)
        return tuple(
            self.dimensions[name].wire_cells[position]
            for name, position in zip(histogram.dimensions, _unravel(index, shape), strict=True)
        )

    def index_of(self, histogram: HistogramSpec, wire_coordinates: tuple[str, ...]) -> int:
        """Inverse of :meth:`wire_coordinates`.

        Raises
        ------
        InvalidInputError
            When a name is not a cell of its dimension.

        """
        if len(wire_coordinates) != len(histogram.dimensions):
            raise InvalidInputError(
                f"expected {len(histogram.dimensions)} coordinates, received {len(wire_coordinates)}",
                field="coordinates",
            )
        index = 0
        for name, cell in zip(histogram.dimensions, wire_coordinates, strict=True):
            cells = self.dimensions[name].wire_cells
            if cell not in cells:
                raise InvalidInputError(f"{cell!r} is not a cell of dimension {name!r}", field="coordinates")
            index = index * len(cells) + cells.index(cell)
        return index

    @property
    def uses_holders_of_debt(self) -> bool:
        """Whether a histogram counts persons by the lenders holding them."""
        return any(h.feed is Feed.LENDERS_PER_BORROWER for h in self.histograms)

    @property
    def holders_buckets(self) -> int:
        """Number of keyed buckets of the holders count."""
        return 1 << self.holders_buckets_log2

    def margin_width(self, histogram: HistogramSpec, margin: MarginSpec) -> int:
        """Number of totals of ``margin``."""
        return math.prod(len(self.dimensions[name].cells) for name in margin.dimensions)

    def margin_index(self, histogram: HistogramSpec, margin: MarginSpec) -> list[int]:
        """For each cell of ``histogram`` (flat index), the total of ``margin`` it is summed into."""
        shape = self.shape(histogram)
        kept = [histogram.dimensions.index(name) for name in margin.dimensions]
        sizes = [shape[position] for position in kept]
        index: list[int] = []
        for cell in range(self.width(histogram)):
            positions = _unravel(cell, shape)
            flat = 0
            for position, size in zip(kept, sizes, strict=True):
                flat = flat * size + positions[position]
            index.append(flat)
        return index

    def margin_coordinates(self, histogram: HistogramSpec, margin: MarginSpec, index: int) -> tuple[str, ...]:
        """Cell labels of total ``index`` of ``margin``."""
        sizes = tuple(len(self.dimensions[name].cells) for name in margin.dimensions)
        return tuple(
            self.dimensions[name].cells[position]
            for name, position in zip(margin.dimensions, _unravel(index, sizes), strict=True)
        )

    @classmethod
    def from_file(cls, path: Path) -> ReportTemplate:
        """Load and validate a template file.

        Raises
        ------
        ConfigError
            When the file is missing, is not TOML, or fails validation; the message
            names the offending key.

        """
        return load_policy_file(cls, path)


def load_template(policies_dir: Path, template_id: str) -> ReportTemplate:
    """Load ``<policies_dir>/report_templates/<template_id>.toml`` and check its id matches.

    Raises
    ------
    ConfigError
        When the id is malformed, the file is missing or invalid, or it declares another id.

    """
    if not template_id.replace("-", "").isalnum() or template_id != template_id.lower():
        raise ConfigError(f"template id must be lower-case letters, digits and '-', received {template_id!r}")
    template = ReportTemplate.from_file(policies_dir / TEMPLATES_DIR / f"{template_id}.toml")
    if template.template_id != template_id:
        raise ConfigError(
            f"report template file {template_id}.toml declares template_id {template.template_id!r}"
        )
    return template


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    positions: list[int] = []
    for size in reversed(shape):
        index, position = divmod(index, size)
        positions.append(position)
    return tuple(reversed(positions))
