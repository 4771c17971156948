"""ClientApp mod: route TRAIN messages through SecAgg+ on this member's terms, never in clear.

A member answers a TRAIN message only inside the SecAgg+ protocol unless *both* the
run config sets ``secagg = false`` *and* its own node config sets ``allow-plain =
true`` (benchmarks measuring SecAgg+'s cost). A server cannot switch a member to
clear replies on its own. Around Flower's ``secaggplus_mod`` the member also enforces its
own policy (:mod:`federated.policy`) and binds keys to certificates
(:mod:`federated.key_binding`):

- every message: the run's ``dp-epsilon`` is within the member's limits;
- ``setup``: enough members and a reconstruction threshold above half of the shares; the
  reply carries the member's certificate and its signature over its fresh public keys;
- ``share_keys``: every neighbour's keys are signed by a distinct certified lender;
- ``unmask``: no node is named both alive and dropped, and enough members survive.
"""

from __future__ import annotations

from flwr.app import ConfigRecord, Context, Message
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage

from federated.errors import FederatedError
from federated.key_binding import credentials_from_node_config, sign_keys, verify_neighbours
from federated.policy import FederatedPolicy, RunRefused, member_policy
from federated.settings import RunSettings
from gateway.clock import system_clock

__all__ = ["ClearReplyRefused", "plain_allowed", "secagg_gate_mod"]


class ClearReplyRefused(FederatedError):
    """The bureau asked for a reply outside SecAgg+ and this member does not allow clear replies."""

    reason = "clear_reply_refused"


def plain_allowed(context: Context) -> bool:
    """Return whether this member may reply in clear for this run."""
    return context.run_config.get("secagg") is False and context.node_config.get("allow-plain") is True


def secagg_gate_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Check the run against this member's policy, then answer inside SecAgg+ (or in clear if allowed).

    Raises
    ------
    FederatedError
        For message types other than TRAIN (the model never uses EVALUATE or QUERY).
    RunRefused, KeyBindingRefused, ClearReplyRefused
        When the bureau asks for less than this member accepts.

    """
    if message.metadata.message_type != MessageType.TRAIN:
        raise FederatedError(f"refused a {message.metadata.message_type!r} message: only train is served")
    policy = member_policy(context.node_config)
    policy.privacy.check_run(RunSettings.from_run_config(context.run_config).dp_epsilon, context.node_config)
    if plain_allowed(context):
        return call_next(message, context)
    if RECORD_KEY_CONFIGS not in message.content.config_records:
        raise ClearReplyRefused("the message is not part of a SecAgg+ aggregation; clear replies are refused")
    configs = message.content.config_records[RECORD_KEY_CONFIGS]
    stage = configs.get(Key.STAGE)
    if stage == Stage.SETUP:
        return _setup(message, context, call_next, policy)
    if stage == Stage.SHARE_KEYS:
        identity = credentials_from_node_config(context.node_config)
        message.content.config_records[RECORD_KEY_CONFIGS] = ConfigRecord(
            verify_neighbours(
                configs,
                identity,
                run_id=message.metadata.run_id,
                own_node=message.metadata.dst_node_id,
                now=system_clock(),
            )  # type: ignore[arg-type]  # the values are checked by secaggplus_mod
        )
    elif stage == Stage.UNMASK:
        policy.secagg.check_unmask(
            active=_integers(configs, Key.ACTIVE_NODE_ID_LIST), dead=_integers(configs, Key.DEAD_NODE_ID_LIST)
        )
    return secaggplus_mod(message, context, call_next)


def _setup(
    message: Message, context: Context, call_next: ClientAppCallable, policy: FederatedPolicy
) -> Message:
    configs = message.content.config_records[RECORD_KEY_CONFIGS]
    policy.secagg.check_setup(
        sample=_integer(configs, Key.SAMPLE_NUMBER),
        shares=_integer(configs, Key.SHARE_NUMBER),
        threshold=_integer(configs, Key.THRESHOLD),
    )
    identity = credentials_from_node_config(context.node_config)
    reply = secaggplus_mod(message, context, call_next)
    keys = reply.content.config_records[RECORD_KEY_CONFIGS]
    pk1, pk2 = keys[Key.PUBLIC_KEY_1], keys[Key.PUBLIC_KEY_2]
    if not (isinstance(pk1, bytes) and isinstance(pk2, bytes)):
        raise FederatedError("setup: SecAgg+ produced no public keys")
    signed = sign_keys(
        identity, run_id=message.metadata.run_id, node_id=message.metadata.dst_node_id, pk1=pk1, pk2=pk2
    )
    for key, value in signed.items():
        keys[key] = value
    return reply


def _integer(configs: ConfigRecord, key: str) -> int:
    value = configs.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RunRefused(f"{key}: expected an integer, received {value!r}")
    return value


def _integers(configs: ConfigRecord, key: str) -> list[int]:
    value = configs.get(key)
    values = value if isinstance(value, list) else []
    integers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if not isinstance(value, list) or len(integers) != len(value):
        raise RunRefused(f"{key}: expected a list of integers")
    return integers
