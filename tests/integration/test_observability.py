"""Metrics on a loopback port and log lines with fields (#17 item 14)."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from gateway._proto.credgate.v1 import member_pb2_grpc, subject_check_pb2
from gateway.cli.logs import configure_logging
from gateway.config import RUNTIME_FILE, Settings
from gateway.demo.provision import BUREAU_ID
from gateway.identity.peer import Role
from gateway.node.runtime import RunningNode, start_bureau, start_member
from gateway.rpc.channel import open_channel


@pytest.fixture
def observed(provision: Callable[..., Settings]) -> Iterator[tuple[RunningNode, RunningNode]]:
    bureau = start_bureau(
        dataclasses.replace(provision(BUREAU_ID, Role.BUREAU), metrics_listen="127.0.0.1:0")
    )
    bank = start_member(provision("bank-1", Role.BANK, bureau_address=bureau.address))
    try:
        yield bureau, bank
    finally:
        bank.stop()
        bureau.stop()


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        return str(response.read().decode("utf-8"))


def test_metrics_count_calls_by_method_and_status_on_a_loopback_port(
    observed: tuple[RunningNode, RunningNode], caplog: pytest.LogCaptureFixture
) -> None:
    bureau, bank = observed
    assert bank.link is not None and bank.link.registered.wait(10)
    # A refused call: a member may not call another member's MemberService (policy).
    channel = open_channel(bank.identity, bank.address, peer_member_id="bank-1", egress=None)
    with caplog.at_level(logging.INFO, logger="credgate.rpc"), pytest.raises(grpc.RpcError):
        member_pb2_grpc.MemberServiceStub(channel).ComputeSubjectVectors(
            subject_check_pb2.ComputeSubjectVectorsRequest(), timeout=10
        )
    channel.close()

    text = scrape(bureau.metrics_address or "")
    runtime = json.loads((bureau.settings.data_dir / RUNTIME_FILE).read_text())

    assert bureau.metrics_address is not None and bureau.metrics_address.startswith("127.0.0.1:")
    assert runtime["metrics_address"] == bureau.metrics_address
    assert 'credgate_rpc_requests_total{method="credgate.v1.BureauService/Register",status="OK"}' in text
    assert (
        'credgate_rpc_requests_total{method="credgate.v1.MemberService/ComputeSubjectVectors",'
        'status="PERMISSION_DENIED"}' in text
    )
    assert "credgate_rpc_latency_seconds_bucket" in text
    for family in (
        "credgate_crl_next_update_timestamp_seconds",
        "credgate_subject_check_dropouts_total",
        "credgate_egress_blocked_total",
        "credgate_privacy_budget_remaining",
        "credgate_federated_rounds",
        "credgate_rpc_streams_closed_idle_total",
    ):
        assert f"# HELP {family}" in text, family
    refused = [r for r in caplog.records if r.getMessage() == "rpc" and r.__dict__.get("status") != "OK"]
    assert refused and refused[-1].__dict__["member"] == "bank-1"
    assert refused[-1].__dict__["method"] == "credgate.v1.MemberService/ComputeSubjectVectors"
    assert isinstance(refused[-1].__dict__["latency_ms"], float)


def test_json_log_lines_carry_fields_not_sentences(tmp_path: Path) -> None:
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level
    configure_logging(level="INFO", json_lines=True)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        logging.getLogger("credgate.rpc").info(
            "rpc", extra={"member": "bank-1", "method": "m", "status": "OK", "latency_ms": 1.5}
        )
    finally:
        root.handlers[:] = kept
        root.setLevel(level)

    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert {k: line[k] for k in ("event", "member", "method", "status", "latency_ms")} == {
        "event": "rpc",
        "member": "bank-1",
        "method": "m",
        "status": "OK",
        "latency_ms": 1.5,
    }
