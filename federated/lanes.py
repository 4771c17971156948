"""Two SecAgg+ instances in one message: the envelope both sides share (bureau and member).

A SecAgg+ aggregation is four message exchanges (Bonawitz et al. 2017: advertise keys,
share keys, masked input collection, unmasking), and the first two depend on nothing
but the members: neither carries data. So while aggregation ``k`` collects and unmasks,
the keys of aggregation ``k + 1`` are set up in the same messages, and every
aggregation after the first costs two exchanges instead of four. Each instance runs
Flower's SecAgg+ unchanged, with its own keys, masks and state; the two only share
the envelope.

The envelope is one config record, ``credgate_lanes``, holding per lane ``lane-<i>`` the
lane's own RecordDict serialised with Flower's protobuf (``RecordDict`` of ``recorddict.proto``).
One record rather than the lanes' records side by side, because Flower moves every record
(and every array) of a message as an object of its own, each one more HTTP call at the
SuperLink, the SuperNode and the ClientApp: an envelope is three objects (message, record
dict, this record) whichever lanes it carries. A member whose part in one lane fails
answers that lane with one record, ``credgate_lane_error``, holding the fixed-format
failure (``credgate-failure member=… phase=… reason=…``) and still answers the other lane.
"""

from __future__ import annotations

import re

from flwr.app import ConfigRecord, Message, RecordDict
from flwr.common.serde import recorddict_from_proto, recorddict_to_proto
from flwr.proto.recorddict_pb2 import RecordDict as RecordDictProto

__all__ = ["ENVELOPE", "ERROR_KEY", "ERROR_RECORD", "envelope", "lanes_of", "replies_of"]

ENVELOPE = "credgate_lanes"
ERROR_RECORD = "credgate_lane_error"
ERROR_KEY = "failure"
_LANE = re.compile(r"lane-(\d{1,9})")


def envelope(lanes: dict[int, RecordDict]) -> RecordDict:
    """One RecordDict carrying every lane's records."""
    packed = {
        f"lane-{lane}": recorddict_to_proto(records).SerializeToString() for lane, records in lanes.items()
    }
    return RecordDict({ENVELOPE: ConfigRecord(packed)})  # type: ignore[arg-type]  # bytes values


def lanes_of(content: RecordDict) -> dict[int, RecordDict] | None:
    """Each lane's records of an envelope; ``None`` when ``content`` is no envelope.

    Raises
    ------
    ValueError
        When the envelope holds anything else than lanes of serialised records.

    """
    if ENVELOPE not in content:
        return None
    if len(content) != 1:
        raise ValueError("an envelope holds nothing but its lanes")
    lanes: dict[int, RecordDict] = {}
    for key, value in content.config_records[ENVELOPE].items():
        match = _LANE.fullmatch(key)
        if match is None or not isinstance(value, bytes):
            raise ValueError(f"an envelope holds lanes of serialised records, not {key!r}")
        proto = RecordDictProto()
        proto.ParseFromString(value)
        lanes[int(match.group(1))] = recorddict_from_proto(proto)
    return lanes


def replies_of(message: Message) -> dict[int, RecordDict]:
    """The lanes of a reply (tests and tools; an error reply or non-envelope has none)."""
    if message.has_error() or not message.has_content():
        return {}
    return lanes_of(message.content) or {}
