"""The fixed-length integer vector every member computes for a subject.

Counts only: amounts and days past due enter as one-hot buckets, so that the
consortium-wide sum stays meaningful (a maximum cannot be summed). The slot
order is fixed by the layout version in ``policies/subject_check.toml``:

=========================  =====================================================
section                    one slot per …
=========================  =====================================================
holders                    1: the member holds any record of the subject
lenders_by_outstanding     outstanding bucket: 1 if the member has active debt there
lenders_by_dpd             days-past-due bucket of the member's worst active account
applications               segment × window: applications received
querying_institutions      segment × window: 1 if the member queried the subject
blacklist                  listing reason: live listings
connected_contacts_today   1: connected collection contacts today (local date)
=========================  =====================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.roles import Role
from gateway.store.enums import BlacklistReason


class AnswerSegment(enum.IntEnum):
    """Segments answers are broken down by; values match ``credgate.v1.Segment``."""

    BANK = 1
    CONSUMER_FINANCE = 2
    MICRO_LOAN = 3
    OTHER = 4

    @classmethod
    def of_role(cls, role: Role) -> AnswerSegment:
        """The segment a member of ``role`` reports under before any merging."""
        return {
            Role.BANK: cls.BANK,
            Role.CONSUMER_FINANCE: cls.CONSUMER_FINANCE,
            Role.MICRO_LENDER: cls.MICRO_LOAN,
        }.get(role, cls.OTHER)


SEGMENTS = tuple(AnswerSegment)
BLACKLIST_REASONS = tuple(BlacklistReason)


@dataclass(frozen=True)
class VectorLayout:
    """Slot offsets of each section for one layout version."""

    version: int
    window_days: tuple[int, ...]
    outstanding_buckets: int
    dpd_buckets: int

    HOLDERS = 0

    @classmethod
    def from_settings(cls, settings: SubjectCheckSettings) -> VectorLayout:
        """The layout the policy file describes."""
        return cls(
            settings.layout_version,
            settings.window_days,
            len(settings.outstanding_buckets.labels),
            len(settings.dpd_buckets.labels),
        )

    @property
    def outstanding_offset(self) -> int:
        """First slot of ``lenders_by_outstanding``."""
        return 1

    @property
    def dpd_offset(self) -> int:
        """First slot of ``lenders_by_dpd``."""
        return self.outstanding_offset + self.outstanding_buckets

    @property
    def applications_offset(self) -> int:
        """First slot of ``applications`` (segment-major, then window)."""
        return self.dpd_offset + self.dpd_buckets

    @property
    def inquiries_offset(self) -> int:
        """First slot of ``querying_institutions`` (segment-major, then window)."""
        return self.applications_offset + len(SEGMENTS) * len(self.window_days)

    @property
    def blacklist_offset(self) -> int:
        """First slot of ``blacklist`` (one per reason)."""
        return self.inquiries_offset + len(SEGMENTS) * len(self.window_days)

    @property
    def contacts_offset(self) -> int:
        """The ``connected_contacts_today`` slot."""
        return self.blacklist_offset + len(BLACKLIST_REASONS)

    @property
    def width(self) -> int:
        """Number of slots."""
        return self.contacts_offset + 1

    def segment_window_slot(self, offset: int, segment: AnswerSegment, window_index: int) -> int:
        """Slot of (segment, window) in a segment × window section starting at ``offset``."""
        return offset + (segment - 1) * len(self.window_days) + window_index
