"""ClientApp mod: route TRAIN messages through SecAgg+ and refuse to answer in clear.

A member answers a TRAIN message only inside the SecAgg+ protocol unless *both* the
run config sets ``secagg = false`` *and* its own node config sets ``allow-plain =
true`` (benchmarks measuring SecAgg+'s cost). A server cannot switch a member to
clear replies on its own.
"""

from __future__ import annotations

from flwr.app import Context, Message
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS

from federated.errors import FederatedError

__all__ = ["ClearReplyRefused", "plain_allowed", "secagg_gate_mod"]


class ClearReplyRefused(FederatedError):
    """The bureau asked for a reply outside SecAgg+ and this member does not allow clear replies."""

    reason = "clear_reply_refused"


def plain_allowed(context: Context) -> bool:
    """Return whether this member may reply in clear for this run."""
    return context.run_config.get("secagg") is False and context.node_config.get("allow-plain") is True


def secagg_gate_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Send TRAIN messages through ``secaggplus_mod`` unless clear replies are allowed on both sides.

    Raises
    ------
    FederatedError
        For message types other than TRAIN (the model never uses EVALUATE or QUERY).

    """
    if message.metadata.message_type != MessageType.TRAIN:
        raise FederatedError(f"refused a {message.metadata.message_type!r} message: only train is served")
    if plain_allowed(context):
        return call_next(message, context)
    if RECORD_KEY_CONFIGS not in message.content.config_records:
        raise ClearReplyRefused("the message is not part of a SecAgg+ aggregation; clear replies are refused")
    return secaggplus_mod(message, context, call_next)
