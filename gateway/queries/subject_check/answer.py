"""Turn an unmasked consortium sum into the bucketed answer a querier reads."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.queries.subject_check.layout import BLACKLIST_REASONS, AnswerSegment, VectorLayout
from gateway.queries.subject_check.messages import Coverage
from gateway.queries.subject_check.settings import SubjectCheckSettings


class CheckStatus(enum.StrEnum):
    """Outcome of one subject's check (``credgate.v1.CheckStatus``)."""

    HIT = "hit"
    NO_MATCH = "no_match"
    INSUFFICIENT_INPUT = "insufficient_input"
    INSUFFICIENT_COVERAGE = "insufficient_coverage"
    ERROR = "error"
    # Never sent: this node's policies refused the check (no valid consent or entrustment).
    REFUSED = "refused"


@dataclass(frozen=True)
class SubjectCheckAnswer:
    """What the querier learns about one subject, every count in the policy's buckets.

    Attributes
    ----------
    lenders_by_outstanding, lenders_by_days_past_due
        Bucket label → bucketed number of other lenders with active debt in it.
    applications, querying_institutions
        ``(segment, window days)`` → bucketed count; merged segments are reported
        under the segment they were merged into.
    blacklist
        Reason → bucketed number of live listings.

    """

    status: CheckStatus
    coverage: Coverage
    institutions_holding: str
    lenders_by_outstanding: Mapping[str, str]
    lenders_by_days_past_due: Mapping[str, str]
    applications: Mapping[tuple[str, int], str]
    querying_institutions: Mapping[tuple[str, int], str]
    blacklist: Mapping[str, str]
    connected_contacts_today: str

    def as_row(self) -> dict[str, str]:
        """Flat ``column → value`` form, for the batch CSV."""
        row = {
            "status": self.status.value,
            "members_answered": str(self.coverage.members_answered),
            "institutions_holding": self.institutions_holding,
        }
        row |= {f"lenders_outstanding_{k}": v for k, v in self.lenders_by_outstanding.items()}
        row |= {f"lenders_dpd_{k}": v for k, v in self.lenders_by_days_past_due.items()}
        row |= {f"applications_{s}_{d}d": v for (s, d), v in self.applications.items()}
        row |= {f"institutions_queried_{s}_{d}d": v for (s, d), v in self.querying_institutions.items()}
        row |= {f"blacklist_{k}": v for k, v in self.blacklist.items()}
        row["connected_contacts_today"] = self.connected_contacts_today
        return row


def no_answer(status: CheckStatus, coverage: Coverage) -> SubjectCheckAnswer:
    """An answer carrying only a status (insufficient input or coverage, error)."""
    return SubjectCheckAnswer(status, coverage, "", {}, {}, {}, {}, {}, "")


def decode_answer(
    total: npt.NDArray[np.int64],
    *,
    settings: SubjectCheckSettings,
    coverage: Coverage,
    segment_map: Mapping[AnswerSegment, AnswerSegment],
) -> SubjectCheckAnswer:
    """Bucket one unmasked row (the sum over the other members) into an answer."""
    layout = VectorLayout.from_settings(settings)
    bucket = _bucketer(settings)
    reported = sorted(set(segment_map.values()))
    windows = layout.window_days

    def segment_windows(offset: int) -> dict[tuple[str, int], str]:
        return {
            (segment.name.lower(), days): bucket(total[layout.segment_window_slot(offset, segment, index)])
            for segment in reported
            for index, days in enumerate(windows)
        }

    return SubjectCheckAnswer(
        status=CheckStatus.HIT if total[VectorLayout.HOLDERS] > 0 else CheckStatus.NO_MATCH,
        coverage=coverage,
        institutions_holding=bucket(total[VectorLayout.HOLDERS]),
        lenders_by_outstanding={
            label: bucket(total[layout.outstanding_offset + index])
            for index, label in enumerate(settings.outstanding_buckets.labels)
        },
        lenders_by_days_past_due={
            label: bucket(total[layout.dpd_offset + index])
            for index, label in enumerate(settings.dpd_buckets.labels)
        },
        applications=segment_windows(layout.applications_offset),
        querying_institutions=segment_windows(layout.inquiries_offset),
        blacklist={
            reason.value: bucket(total[layout.blacklist_offset + index])
            for index, reason in enumerate(BLACKLIST_REASONS)
        },
        connected_contacts_today=bucket(total[layout.contacts_offset]),
    )


def _bucketer(settings: SubjectCheckSettings) -> Callable[[np.int64], str]:
    buckets = settings.count_buckets

    def bucket(value: np.int64) -> str:
        return buckets.labels[buckets.index(int(value))]

    return bucket
