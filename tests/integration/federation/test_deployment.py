"""Flower's deployment engine behind credgate's relay: real SuperLink and SuperNode processes.

One consortium (bureau + three lenders) serves every test in this module; the
runs use the test-only numpy app in ``fedtest_app/``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from gateway.federation.errors import TrainingFailed
from gateway.federation.node_keys import supernode_key
from gateway.federation.routes import STATUS_KEY
from gateway.federation.runs import follow_run, start_run
from gateway.federation.supernode import SuperNode
from gateway.identity.peer import Role
from gateway.identity.tls import TLSIdentity
from gateway.rpc.channel import open_channel

from .harness import APP_DIR, Federation, running_federation

pytestmark = [pytest.mark.processes, pytest.mark.slow]


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    with running_federation(tmp_path_factory.mktemp("federation")) as running:
        yield running


def relay_call(
    federation: Federation,
    member_id: str,
    role: Role,
    method: str,
    body: bytes = b"",
    metadata: tuple[tuple[str, str], ...] = (),
) -> grpc.Call:
    settings = federation.members.get(member_id) or federation.provision(member_id, role)
    channel = open_channel(
        TLSIdentity.from_settings(settings.tls),
        federation.relay_address,
        peer_member_id="bureau",
        egress=None,
    )
    try:
        _, call = channel.unary_unary(method).with_call(body, metadata=metadata, timeout=10)
        return call
    except grpc.RpcError as exc:
        assert isinstance(exc, grpc.Call)
        return exc
    finally:
        channel.close()


def test_a_supernode_that_dies_is_restarted_by_its_node(federation: Federation) -> None:
    watchdog = federation.parts[0].watchdogs[0]
    child = watchdog.children[0]
    first_pid = child.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while (watchdog.restarts == 0 or child.exit_code() is not None) and time.monotonic() < deadline:
        time.sleep(0.2)

    assert watchdog.restarts == 1 and child.pid != first_pid and child.exit_code() is None
    # The next test's run needs all three SuperNodes, this one included.


def test_a_run_over_the_relay_with_three_members_completes_and_improves_auc(
    federation: Federation, tmp_path: Path
) -> None:
    rounds: list[dict[str, object]] = []
    run = start_run(
        federation.control,
        APP_DIR,
        allow_list=None,
        output_root=tmp_path,
        config={"rounds": 2, "min-members": 3},
    )

    results = follow_run(federation.control, run, on_progress=rounds.append, timeout=150)

    assert [entry["round"] for entry in rounds] == [1, 2]
    assert all(entry["replies"] == 3 for entry in rounds)
    assert results["status"] == "finished"
    assert results["final"]["auc"] > results["initial_auc"] + 0.2


@pytest.mark.parametrize(
    "method",
    [
        "/flwr.proto.Control/ListRuns",
        "/flwr.proto.Control/StartRun",
        "/flwr.proto.ServerAppIo/PullMessages",
        "/flwr.proto.ClientAppIo/PullMessage",
        "/flwr.proto.Fleet/ListNodes",
    ],
)
def test_a_member_certificate_is_refused_on_control_and_runtime_paths(
    federation: Federation, method: str
) -> None:
    call = relay_call(federation, "bank-1", Role.BANK, method)

    assert call.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_relay_forwards_fleet_calls_for_lenders_only(federation: Federation) -> None:
    lender = relay_call(federation, "bank-1", Role.BANK, "/flwr.proto.Fleet/GetRun")
    agency = relay_call(federation, "agency-1", Role.AGENCY, "/flwr.proto.Fleet/GetRun")
    other = relay_call(federation, "bank-1", Role.BANK, "/credgate.v1.BureauService/Directory")

    # An unsigned GetRun reaches the SuperLink, whose node authentication answers 401.
    assert dict(lender.initial_metadata() or ())[STATUS_KEY] == "401"
    assert agency.code() == grpc.StatusCode.PERMISSION_DENIED
    assert other.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_member_cannot_pin_a_supernode_key_it_does_not_hold(federation: Federation) -> None:
    from flwr.proto.fleet_pb2 import ActivateNodeRequest
    from flwr.supercore.primitives.asymmetric import generate_key_pairs, public_key_to_bytes

    someone_elses = public_key_to_bytes(generate_key_pairs()[1])
    body = ActivateNodeRequest(public_key=someone_elses).SerializeToString()
    metadata = (("flwr-public-key", base64.b64encode(someone_elses).decode()), ("flwr-signature", "AAAA"),
                ("flwr-timestamp", "2026-01-01T00:00:00+00:00"))  # fmt: skip

    call = relay_call(federation, "bank-9", Role.BANK, "/flwr.proto.Fleet/ActivateNode", body, metadata)

    assert call.code() == grpc.StatusCode.PERMISSION_DENIED
    pins = json.loads((federation.bureau.data_dir / "federation" / "supernode_keys.json").read_text())
    assert "bank-9" not in pins and set(pins) == {"bank-1", "bank-2", "cfc-1"}


def test_the_member_gateway_serves_no_control_or_runtime_path(federation: Federation) -> None:
    parts = federation.parts[0]
    port = int(str(parts.info["gateway_port"]))
    ca = str(federation.members["bank-1"].tls.ca_cert)
    with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as client:
        control = client.post(f"https://127.0.0.1:{port}/v1/control/list-runs", content=b"")
        runtime = client.post(f"https://127.0.0.1:{port}/v1/runtime/pull-task-input", content=b"")

    assert (control.status_code, runtime.status_code) == (404, 404)


def run_intruder(federation: Federation, port: int, folder: Path) -> tuple[int | None, str]:
    """Start a SuperNode with a fresh key against ``port``; return its exit code (or None) and log."""
    node = SuperNode.start(
        gateway_port=port,
        ca_cert=federation.bureau.tls.ca_cert,
        state_dir=folder,
        config={"store-url": "sqlite://", "member-id": "intruder"},
        key_path=supernode_key(folder),
    )
    try:
        deadline = time.monotonic() + 45
        while node.child.exit_code() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        return node.child.exit_code(), node.child.log_path.read_text(encoding="utf-8", errors="replace")
    finally:
        node.stop()


def test_a_supernode_with_an_unregistered_key_is_rejected_by_the_superlink(
    federation: Federation, tmp_path: Path
) -> None:
    """Even a SuperNode that reached the fleet API directly (on the bureau's loopback) cannot join."""
    port = int(federation.control._base.rpartition(":")[2])

    exit_code, log = run_intruder(federation, port, tmp_path / "direct")

    assert exit_code is not None and exit_code != 0, log[-2000:]
    assert "SuperNode ID:" not in log


def test_a_second_supernode_key_from_a_member_is_refused_by_the_relay(
    federation: Federation, tmp_path: Path
) -> None:
    """bank-1's key is pinned at its first activation; another key through bank-1's gateway is refused."""
    port = int(str(federation.parts[0].info["gateway_port"]))

    exit_code, log = run_intruder(federation, port, tmp_path / "second-key")

    assert exit_code is not None, "the SuperNode kept running"
    assert "SuperNode ID:" not in log


def test_an_unlisted_bundle_runs_nowhere(federation: Federation, tmp_path: Path) -> None:
    unlisted = tmp_path / "fedtest_app"
    shutil.copytree(APP_DIR, unlisted, ignore=shutil.ignore_patterns("__pycache__"))
    task = unlisted / "credgate_fedtest" / "task.py"
    task.write_text(task.read_text(encoding="utf-8") + "\nUNREVIEWED = True\n", encoding="utf-8")
    before = [len(parts.guard.refusals) for parts in federation.parts if parts.guard is not None]

    run = start_run(
        federation.control,
        unlisted,
        allow_list=None,
        output_root=tmp_path / "out",
        config={"rounds": 1, "min-members": 3, "round-timeout": 12},
    )
    with pytest.raises(TrainingFailed, match="finished:failed"):
        follow_run(federation.control, run, on_progress=lambda _: None, timeout=90)

    after = [len(parts.guard.refusals) for parts in federation.parts if parts.guard is not None]
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    assert not (run.output_dir / "results.json").exists()
    for settings in federation.members.values():
        installed = list((settings.data_dir / "federation" / "flwr-home").rglob(f"*{run.fab_hash[:8]}*"))
        assert installed == []


def test_the_superlink_listens_on_loopback_only(federation: Federation) -> None:
    port = int(federation.control._base.rpartition(":")[2])
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port
    ]
    v6 = Path("/proc/net/tcp6").read_text(encoding="ascii").splitlines()[1:]

    assert listening == [f"0100007F:{port:04X}"]
    assert not [line for line in v6 if line.split()[3] == "0A" and line.split()[1].endswith(f":{port:04X}")]
