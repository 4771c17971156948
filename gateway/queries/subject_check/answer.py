"""Turn an unmasked consortium sum into the bucketed answer a querier reads."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    return decode_answers(
        total.reshape(1, -1), settings=settings, coverage=coverage, segment_map=segment_map
    )[0]


def decode_answers(
    totals: npt.NDArray[np.int64],
    *,
    settings: SubjectCheckSettings,
    coverage: Coverage,
    segment_map: Mapping[AnswerSegment, AnswerSegment],
) -> list[SubjectCheckAnswer]:
    """Bucket unmasked rows of one round into answers (vectorised: a portfolio has many rows)."""
    layout = VectorLayout.from_settings(settings)
    buckets = settings.count_buckets
    positions = np.searchsorted(np.asarray(buckets.lower_bounds), totals, side="right") - 1
    labels = np.asarray(buckets.labels, dtype=object)[np.maximum(positions, 0)]
    reported = sorted(set(segment_map.values()))

    def slots(offset: int, keys: list[Any]) -> tuple[list[Any], list[int]]:
        return keys, list(range(offset, offset + len(keys)))

    def segment_windows(offset: int) -> tuple[list[Any], list[int]]:
        keys = [(s.name.lower(), d) for s in reported for d in layout.window_days]
        columns = [
            layout.segment_window_slot(offset, s, i) for s in reported for i in range(len(layout.window_days))
        ]
        return keys, columns

    sections = [
        slots(layout.outstanding_offset, list(settings.outstanding_buckets.labels)),
        slots(layout.dpd_offset, list(settings.dpd_buckets.labels)),
        segment_windows(layout.applications_offset),
        segment_windows(layout.inquiries_offset),
        slots(layout.blacklist_offset, [reason.value for reason in BLACKLIST_REASONS]),
    ]
    answers = []
    for total, row in zip(totals, labels, strict=True):
        outstanding, dpd, applications, inquiries, blacklist = (
            dict(zip(keys, row[columns], strict=True)) for keys, columns in sections
        )
        answers.append(
            SubjectCheckAnswer(
                status=CheckStatus.HIT if total[VectorLayout.HOLDERS] > 0 else CheckStatus.NO_MATCH,
                coverage=coverage,
                institutions_holding=row[VectorLayout.HOLDERS],
                lenders_by_outstanding=outstanding,
                lenders_by_days_past_due=dpd,
                applications=applications,
                querying_institutions=inquiries,
                blacklist=blacklist,
                connected_contacts_today=row[layout.contacts_offset],
            )
        )
    return answers
