"""Merging segments with too few answering members, so a figure never names one member."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.errors import InvalidInputError
from gateway.queries.subject_check.layout import SEGMENTS, AnswerSegment


def merge_segments(
    counts: Mapping[AnswerSegment, int], *, minimum: int
) -> dict[AnswerSegment, AnswerSegment]:
    """Map each segment to the one its members report under.

    Segments with between 1 and ``minimum - 1`` answering members report under
    ``OTHER``; if ``OTHER`` then still has fewer than ``minimum``, every segment
    reports under ``OTHER`` (the whole answer becomes one group).
    """
    small = {s for s in SEGMENTS if 0 < counts.get(s, 0) < minimum}
    if not small:
        return {s: s for s in SEGMENTS}
    merged = {s: (AnswerSegment.OTHER if s in small else s) for s in SEGMENTS}
    in_other = sum(counts.get(s, 0) for s, target in merged.items() if target is AnswerSegment.OTHER)
    if in_other < minimum:
        return dict.fromkeys(SEGMENTS, AnswerSegment.OTHER)
    return merged


def format_segment_map(segment_map: Mapping[AnswerSegment, AnswerSegment]) -> str:
    """``"1,2,4,4"``: entry s-1 is what segment s reports under."""
    return ",".join(str(int(segment_map[s])) for s in SEGMENTS)


def parse_segment_map(text: str) -> dict[AnswerSegment, AnswerSegment]:
    """Inverse of :func:`format_segment_map`.

    Raises
    ------
    InvalidInputError
        When the text does not list one known segment per segment.

    """
    parts = text.split(",")
    try:
        targets = [AnswerSegment(int(part)) for part in parts]
    except ValueError:
        raise InvalidInputError(f"expected segment numbers, received {text!r}", field="segment_map") from None
    if len(targets) != len(SEGMENTS):
        raise InvalidInputError(
            f"expected {len(SEGMENTS)} entries, received {len(targets)}", field="segment_map"
        )
    return dict(zip(SEGMENTS, targets, strict=True))
