"""Two SecAgg+ instances in one message: the record naming both sides share (bureau and member).

A SecAgg+ aggregation is four message exchanges (Bonawitz et al. 2017: advertise keys,
share keys, masked input collection, unmasking), and the first two depend on nothing
but the members: neither carries data. So while aggregation ``k`` collects and unmasks,
the keys of aggregation ``k + 1`` are set up in the same messages, and every
aggregation after the first costs two exchanges instead of four. Each instance runs
Flower's SecAgg+ unchanged, with its own keys, masks and state; the two only share
the envelope.

The envelope: every record of instance ``i``'s message is named ``lane-<i>.<name>`` in
one RecordDict; the reply names its records the same way. A member whose part in one
lane fails answers that lane with one record, ``lane-<i>.credgate_lane_error``, holding
the fixed-format failure (``credgate-failure member=… phase=… reason=…``) and still
answers the other lane.
"""

from __future__ import annotations

import re

__all__ = ["ERROR_KEY", "ERROR_RECORD", "lane_of", "lane_record"]

ERROR_RECORD = "credgate_lane_error"
ERROR_KEY = "failure"
_LANE = re.compile(r"lane-(\d{1,9})\.(.+)", re.DOTALL)


def lane_record(lane: int, name: str) -> str:
    """The envelope's name for record ``name`` of instance ``lane``."""
    return f"lane-{lane}.{name}"


def lane_of(record: str) -> tuple[int, str] | None:
    """``(lane, name)`` of an envelope record name; ``None`` for any other name."""
    match = _LANE.fullmatch(record)
    return None if match is None else (int(match.group(1)), match.group(2))
