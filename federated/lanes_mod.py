"""ClientApp mod: a member's side of :mod:`federated.lanes` (two SecAgg+ instances per message).

Outermost mod of the member's ClientApp. An envelope (:func:`federated.lanes.envelope`)
is split into one message per lane; each goes through the rest of
the app (egress guard, SecAgg+ gate, SecAgg+, the member's computation) on its own,
with the SecAgg+ state of its own instance: Flower's ``secaggplus_mod`` keeps its state
in one record of the run context (``secaggplus_state``), so that record is swapped for
the lane's (``secaggplus_state@lane-<i>``) around the call. The replies are renamed and
returned as one. A lane that fails answers with its fixed-format failure text only
(already so when it comes from the egress mod; anything else becomes ``internal_error``),
and the other lane is still answered. Any other message passes through unchanged.
"""

from __future__ import annotations

import logging

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.app.message import make_message
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, RECORD_KEY_STATE

from federated.egress_mod import failure_text
from federated.errors import FederatedError
from federated.lanes import ERROR_KEY, ERROR_RECORD, envelope, lanes_of
from federated.server.watched_grid import FAILURE_PREFIX

__all__ = ["MAX_LANES", "lanes_mod"]

logger = logging.getLogger(__name__)
#: Lane states kept between messages; an older one belongs to an instance the bureau abandoned.
MAX_LANES = 4
_UNMASK = "unmask"


def lanes_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Answer each lane of an envelope separately; pass any other message through.

    Raises
    ------
    FederatedError
        When an envelope is malformed.

    """
    if not message.has_content():
        return call_next(message, context)
    try:
        lanes = lanes_of(message.content)
    except ValueError as exc:
        raise FederatedError(f"a malformed SecAgg+ envelope: {exc}") from None
    if lanes is None:
        return call_next(message, context)
    answers = {
        lane: _answer(lane, records, message, context, call_next) for lane, records in sorted(lanes.items())
    }
    _forget_old_lanes(context)
    return Message(envelope(answers), reply_to=message)


def _answer(
    lane: int, records: RecordDict, message: Message, context: Context, call_next: ClientAppCallable
) -> RecordDict:
    part = make_message(metadata=message.metadata, content=records)
    key = f"{RECORD_KEY_STATE}@lane-{lane}"
    # The RecordDict itself, never a typed view of it: a view taken before the call would not
    # see what secaggplus_mod writes through another.
    shared = context.state
    saved = shared.pop(RECORD_KEY_STATE, None)
    if key in shared:
        shared[RECORD_KEY_STATE] = shared.pop(key)
    try:
        reply = call_next(part, context)
        answer = reply.content if reply.has_content() else RecordDict()
    except Exception as exc:
        text = str(exc) if str(exc).startswith(FAILURE_PREFIX) else failure_text(part, context, exc)
        logger.error("lane %s failed; the bureau is told only %r", lane, text, exc_info=exc)
        answer = RecordDict({ERROR_RECORD: ConfigRecord({ERROR_KEY: text})})
    finally:
        state = shared.pop(RECORD_KEY_STATE, None)
        if state is not None and _stage(records) != _UNMASK:
            shared[key] = state  # An instance that unmasked is done: its keys are forgotten.
        if saved is not None:
            shared[RECORD_KEY_STATE] = saved
    return answer


def _stage(records: RecordDict) -> str:
    configs = records.config_records.get(RECORD_KEY_CONFIGS)
    stage = configs.get("stage") if configs is not None else None
    return stage if isinstance(stage, str) else ""


def _forget_old_lanes(context: Context) -> None:
    prefix = f"{RECORD_KEY_STATE}@lane-"
    shared = context.state
    kept = sorted((int(name[len(prefix) :]) for name in shared if name.startswith(prefix)), reverse=True)
    for lane in kept[MAX_LANES:]:
        del shared[f"{prefix}{lane}"]
