"""The bureau's SuperLink deviating in SecAgg+: swapped or invented keys, a low threshold, a double claim.

Each test drives a member's SecAgg+ gate (``federated.secagg_gate.secagg_gate_mod``, the mod
every member's ClientApp runs) with the messages a deviating SuperLink would send, and runs
the same messages through Flower's bare ``secaggplus_mod`` as the control: there the attack
succeeds (the test shows what leaks), so the test fails on code without the protection.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flwr.compat.common.recorddict_compat as compat
import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Message, Metadata, RecordDict
from flwr.app.message import make_message
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters
from flwr.common.secure_aggregation.crypto.symmetric_encryption import decrypt, generate_shared_key
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.common.secure_aggregation.secaggplus_utils import share_keys_plaintext_separate
from flwr.supercore.primitives.asymmetric import (
    bytes_to_public_key,
    generate_key_pairs,
    public_key_to_bytes,
)

from federated.key_binding import BINDING_PREFIX, CERT_KEY, SIGNATURE_KEY, KeyBindingRefused
from federated.policy import RunRefused, shipped_policy
from federated.secagg_gate import secagg_gate_mod
from gateway.clock import system_clock
from gateway.identity.ca import CertificateAuthority
from gateway.roles import Role

RUN_ID = 7
NODES = (11, 12, 13, 14)
Mod = Callable[[Message, Context, Any], Message]


@dataclass
class Member:
    node: int
    context: Context


@pytest.fixture
def members(authority: CertificateAuthority, tmp_path: Path) -> dict[int, Member]:
    """Four certified lenders, each with its own context (SecAgg+ keeps its state there)."""
    out: dict[int, Member] = {}
    for node in NODES:
        issued = authority.issue(
            member_id=f"bank-{node}", role=Role.BANK, out_dir=tmp_path / str(node), now=system_clock()
        )
        config = {
            "tls-cert": str(issued.cert_path),
            "tls-key": str(issued.key_path),
            "ca-cert": str(issued.ca_cert_path),
            "member-id": f"bank-{node}",
        }
        out[node] = Member(node, Context(RUN_ID, node, config, RecordDict(), {}))
    return out


def _message(node: int, configs: dict[str, Any]) -> Message:
    metadata = Metadata(
        run_id=RUN_ID, message_id=uuid.uuid4().hex, src_node_id=1, dst_node_id=node, reply_to_message_id="",
        group_id="1", created_at=time.time(), ttl=3600.0, message_type=MessageType.TRAIN,
    )  # fmt: skip
    return make_message(metadata, RecordDict({RECORD_KEY_CONFIGS: ConfigRecord(configs)}))


def _never_called(message: Message, context: Context) -> Message:
    raise AssertionError("the member's computation must not run in the key stages")


def _setup_configs(threshold: int = 3, sample: int = len(NODES)) -> dict[str, Any]:
    return {
        Key.STAGE: Stage.SETUP, Key.SAMPLE_NUMBER: sample, Key.SHARE_NUMBER: sample, Key.THRESHOLD: threshold,
        Key.CLIPPING_RANGE: 8.0, Key.TARGET_RANGE: 2**26, Key.MOD_RANGE: 2**32, Key.MAX_WEIGHT: 1.0,
    }  # fmt: skip


def _setup(members: dict[int, Member], mod: Mod) -> dict[int, dict[str, bytes]]:
    """Every member's setup reply: its public keys (and, through the gate, their binding)."""
    replies = {}
    for node, member in members.items():
        reply = mod(_message(node, _setup_configs()), member.context, _never_called)
        replies[node] = dict(reply.content.config_records[RECORD_KEY_CONFIGS])
    return replies


def _share_keys(keys: dict[int, dict[str, bytes]], *, bindings: bool) -> dict[str, Any]:
    """The share-keys message an honest relay builds from the setup replies."""
    configs: dict[str, Any] = {Key.STAGE: Stage.SHARE_KEYS}
    for node, reply in keys.items():
        configs[str(node)] = [reply[Key.PUBLIC_KEY_1], reply[Key.PUBLIC_KEY_2]]
        if bindings:
            configs[BINDING_PREFIX + str(node)] = [reply[CERT_KEY], reply[SIGNATURE_KEY]]
    return configs


def _forwarded_to(node: int, sent: dict[int, Message]) -> dict[str, Any]:
    """The collection message an honest relay builds: the key shares addressed to ``node``."""
    sources, ciphertexts = [], []
    for source, reply in sent.items():
        configs = reply.content.config_records[RECORD_KEY_CONFIGS]
        for destination, ciphertext in zip(
            configs[Key.DESTINATION_LIST], configs[Key.CIPHERTEXT_LIST], strict=True
        ):
            if destination == node:
                sources.append(source)
                ciphertexts.append(ciphertext)
    return {
        Key.STAGE: Stage.COLLECT_MASKED_VECTORS,
        Key.SOURCE_LIST: sources,
        Key.CIPHERTEXT_LIST: ciphertexts,
    }


def _fit_result(message: Message, context: Context) -> Message:
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters([np.zeros(3)]), 1, {})
    return Message(compat.fitres_to_recorddict(fitres, False), reply_to=message)


def _read_shares_for(victim: int, reply: Message, adversary_secret: Any) -> list[tuple[int, int]]:
    """Decrypt, with the adversary's key, the ciphertexts a member addressed to ``victim``."""
    configs = reply.content.config_records[RECORD_KEY_CONFIGS]
    opened = []
    for destination, ciphertext in zip(
        configs[Key.DESTINATION_LIST], configs[Key.CIPHERTEXT_LIST], strict=True
    ):
        if destination == victim:
            source, target, _, _ = share_keys_plaintext_separate(decrypt(adversary_secret, ciphertext))
            opened.append((source, target))
    return opened


def _swap_pk2(configs: dict[str, Any], victim: int, public: bytes) -> dict[str, Any]:
    swapped = dict(configs)
    swapped[str(victim)] = [configs[str(victim)][0], public]
    return swapped


def test_a_member_refuses_a_neighbour_key_the_superlink_swapped_in(members: dict[int, Member]) -> None:
    # The SuperLink replaces member 12's encryption key with its own, keeping 12's binding.
    adversary_secret, adversary_public = generate_key_pairs()
    victim, sender = 12, 11

    # Control: Flower's bare mod encrypts its key shares for "12" to the SuperLink's key.
    bare = {node: Member(node, Context(RUN_ID, node, {}, RecordDict(), {})) for node in NODES}
    keys = _setup(bare, secaggplus_mod)
    configs = _swap_pk2(_share_keys(keys, bindings=False), victim, public_key_to_bytes(adversary_public))
    reply = secaggplus_mod(_message(sender, configs), bare[sender].context, _never_called)
    shared = generate_shared_key(adversary_secret, bytes_to_public_key(keys[sender][Key.PUBLIC_KEY_2]))
    assert _read_shares_for(victim, reply, shared) == [(sender, victim)]

    # The gate: the swapped key does not carry 12's signature, so 11 shares nothing.
    keys = _setup(members, secagg_gate_mod)
    configs = _swap_pk2(_share_keys(keys, bindings=True), victim, public_key_to_bytes(adversary_public))
    with pytest.raises(KeyBindingRefused, match="node 12"):
        secagg_gate_mod(_message(sender, configs), members[sender].context, _never_called)
    # The honest relay of the same keys is accepted: shares go to every neighbour.
    reply = secagg_gate_mod(
        _message(13, _share_keys(keys, bindings=True)), members[13].context, _never_called
    )
    assert sorted(reply.content.config_records[RECORD_KEY_CONFIGS][Key.DESTINATION_LIST]) == [11, 12, 14]


def test_a_member_refuses_keys_without_a_binding_or_signed_by_a_non_lender(
    members: dict[int, Member], authority: CertificateAuthority, tmp_path: Path
) -> None:
    keys = _setup(members, secagg_gate_mod)
    # A member the SuperLink invents: keys of its own, no binding at all.
    _, invented_1 = generate_key_pairs()
    _, invented_2 = generate_key_pairs()
    configs = _share_keys(keys, bindings=True)
    configs["99"] = [public_key_to_bytes(invented_1), public_key_to_bytes(invented_2)]
    with pytest.raises(KeyBindingRefused, match="binding:99"):
        secagg_gate_mod(_message(11, configs), members[11].context, _never_called)

    # The bureau signing invented keys with its own (valid, but not a lender's) certificate.
    from federated.key_binding import sign_keys
    from gateway.config import TLSSettings
    from gateway.identity.tls import TLSIdentity

    issued = authority.issue(
        member_id="bureau", role=Role.BUREAU, out_dir=tmp_path / "bureau", now=system_clock()
    )
    bureau = TLSIdentity.from_settings(
        TLSSettings(issued.ca_cert_path, issued.cert_path, issued.key_path, None)
    )
    pk1, pk2 = configs["99"]
    binding = sign_keys(bureau, run_id=RUN_ID, node_id=99, pk1=pk1, pk2=pk2)
    configs[BINDING_PREFIX + "99"] = [binding[CERT_KEY], binding[SIGNATURE_KEY]]
    with pytest.raises(KeyBindingRefused, match="signed by a bureau"):
        secagg_gate_mod(_message(11, configs), members[11].context, _never_called)

    # A lender's binding moved to another node id (or another run) no longer verifies.
    configs = _share_keys(keys, bindings=True)
    configs["15"], configs[BINDING_PREFIX + "15"] = configs.pop("14"), configs.pop(BINDING_PREFIX + "14")
    with pytest.raises(KeyBindingRefused, match="node 15"):
        secagg_gate_mod(_message(11, configs), members[11].context, _never_called)


def test_a_member_refuses_one_lender_behind_two_node_ids(members: dict[int, Member]) -> None:
    # The SuperLink runs setup twice with member 14 (two lanes) and presents both key pairs as
    # two members, so that 14's shares count twice towards the threshold.
    keys = _setup(members, secagg_gate_mod)
    lane = Context(RUN_ID, 14, members[14].context.node_config, RecordDict(), {})
    second = secagg_gate_mod(_message(14, _setup_configs()), lane, _never_called)
    configs = _share_keys(keys, bindings=True)
    again = dict(second.content.config_records[RECORD_KEY_CONFIGS])
    configs["14"] = [again[Key.PUBLIC_KEY_1], again[Key.PUBLIC_KEY_2]]
    configs[BINDING_PREFIX + "14"] = [again[CERT_KEY], again[SIGNATURE_KEY]]
    # The same pair under node 15 cannot verify (the node id is signed); under 14 twice means two
    # valid bindings by bank-14, which the duplicate check catches when both appear.
    configs["15"] = [keys[14][Key.PUBLIC_KEY_1], keys[14][Key.PUBLIC_KEY_2]]
    configs[BINDING_PREFIX + "15"] = [keys[14][CERT_KEY], keys[14][SIGNATURE_KEY]]
    with pytest.raises(KeyBindingRefused):
        secagg_gate_mod(_message(11, configs), members[11].context, _never_called)


@pytest.mark.parametrize(
    ("threshold", "sample", "field"),
    [(2, 4, "threshold"), (1, 4, "threshold"), (2, 2, "sample_num")],
)
def test_a_member_refuses_a_setup_below_its_policy(
    members: dict[int, Member], threshold: int, sample: int, field: str
) -> None:
    # Control: the bare mod accepts a threshold of 2 of 4 shares (or a 2-member sample) and sends keys.
    context = Context(RUN_ID, 11, {}, RecordDict(), {})
    reply = secaggplus_mod(_message(11, _setup_configs(threshold, sample)), context, _never_called)
    assert Key.PUBLIC_KEY_1 in reply.content.config_records[RECORD_KEY_CONFIGS]
    policy = shipped_policy().secagg
    assert sample < policy.min_members or threshold <= policy.min_threshold_share * sample
    with pytest.raises(RunRefused, match=field):
        secagg_gate_mod(_message(11, _setup_configs(threshold, sample)), members[11].context, _never_called)


def test_a_member_never_reveals_both_secrets_of_one_neighbour(members: dict[int, Member]) -> None:
    keys = _setup(members, secagg_gate_mod)
    sent = {
        node: secagg_gate_mod(_message(node, _share_keys(keys, bindings=True)), member.context, _never_called)
        for node, member in members.items()
    }
    # The honest collection stage: each member gets the shares addressed to it and masks a vector.
    for node, member in members.items():
        secagg_gate_mod(_message(node, _forwarded_to(node, sent)), member.context, _fit_result)
    # The SuperLink names 12 both alive (mask seed share) and dropped (key share).
    unmask = {Key.STAGE: Stage.UNMASK, Key.ACTIVE_NODE_ID_LIST: [11, 12, 13], Key.DEAD_NODE_ID_LIST: [12]}

    # Control: the bare mod answers with two shares for node 12.
    context = members[11].context
    saved = ConfigRecord(dict(context.state.config_records["secaggplus_state"]))
    reply = secaggplus_mod(_message(11, dict(unmask)), context, _never_called)
    assert reply.content.config_records[RECORD_KEY_CONFIGS][Key.NODE_ID_LIST].count(12) == 2
    context.state.config_records["secaggplus_state"] = saved

    with pytest.raises(RunRefused, match=r"nodes \[12\] named more than once"):
        secagg_gate_mod(_message(11, dict(unmask)), context, _never_called)
    # Too few alive for the noise each member sized for its policy's min_members.
    too_few = {Key.STAGE: Stage.UNMASK, Key.ACTIVE_NODE_ID_LIST: [11, 13], Key.DEAD_NODE_ID_LIST: [12, 14]}
    with pytest.raises(RunRefused, match="active_nids"):
        secagg_gate_mod(_message(11, too_few), context, _never_called)


@pytest.mark.parametrize(("epsilon", "allowed"), [(0.0, False), (0.0, True), (50.0, False), (None, False)])
def test_a_member_refuses_a_run_without_dp_or_above_its_epsilon(
    members: dict[int, Member], epsilon: float | None, allowed: bool
) -> None:
    member = members[11]
    run_config = {} if epsilon is None else {"dp-epsilon": epsilon}
    node_config = {**member.context.node_config, **({"allow-no-dp": True} if allowed else {})}
    context = Context(RUN_ID, 11, node_config, RecordDict(), run_config)
    message = _message(11, _setup_configs())
    if epsilon is None or allowed:  # the policy default, or no DP where the member allows it
        assert (
            Key.PUBLIC_KEY_1
            in secagg_gate_mod(message, context, _never_called).content.config_records[RECORD_KEY_CONFIGS]
        )
    else:
        with pytest.raises(RunRefused, match="dp-epsilon"):
            secagg_gate_mod(message, context, _never_called)


def test_members_refuse_the_round_when_the_bureaus_relay_swaps_a_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The bureau runs its own ServerApp: here its relay hands every member a key of its own in
    # place of the first neighbour's, keeping that neighbour's binding.
    import json

    from federated.apps.client import app as client
    from federated.apps.server import app as server
    from federated.inprocess import run_inprocess
    from federated.server import pipeline
    from federated.server.key_relay import KeyBindingRelay

    _, adversary_public = generate_key_pairs()
    swapped_key = public_key_to_bytes(adversary_public)

    class SwappingRelay(KeyBindingRelay):
        def _with_bindings(self, message: Message) -> Message:
            message = super()._with_bindings(message)
            configs = message.content.config_records.get(RECORD_KEY_CONFIGS)
            if configs is not None and configs.get(Key.STAGE) == Stage.SHARE_KEYS:
                victim = min(k for k in configs if k.isdigit() and int(k) != message.metadata.dst_node_id)
                configs[victim] = [configs[victim][0], swapped_key]
            return message

    monkeypatch.setattr(pipeline, "KeyBindingRelay", SwappingRelay)
    data = Path(__file__).resolve().parents[3] / "data" / "uci_taiwan_default.csv"
    nodes: dict[int, dict[str, Any]] = {
        600 + i: {
            "features-csv": str(data),
            "partition-by": "random",
            "partition-id": i,
            "num-partitions": 10,
        }
        for i in range(3)
    }
    with pytest.raises(Exception):  # noqa: B017  # the ServerApp fails the run, whatever it raises
        run_inprocess(
            server, client, node_configs=nodes, run_config={"output-dir": str(tmp_path), "rounds": 1}
        )
    failure = json.loads((tmp_path / "results.json").read_text())["failure"]
    reasons = {(m["phase"], m["reason"]) for m in failure["members"]}
    assert reasons == {("share_keys", "secagg_key_unbound")}
