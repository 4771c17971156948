"""Demo step: each node's audit log co-signed by the other members and verified; a bundle checked offline."""

from __future__ import annotations

import subprocess
import sys
import time

from gateway.clock import LOCAL_ZONE, Clock
from gateway.config import Settings
from gateway.demo.context import DemoContext
from gateway.errors import GatewayError
from gateway.store.database import open_store
from gateway.store.repositories.audit import AUDIT_LOG
from gateway.tlog.checkpoints import CheckpointStore
from gateway.tlog.keys import audit_origin, witness_name
from gateway.tlog.tree import SqlTree
from gateway.transparency.operations import export_node_log, verify_node_log

WITNESS_TIMEOUT_SECONDS = 120.0


def witnessed_logs(context: DemoContext) -> None:
    """Wait until each node's newest entries are co-signed by every other member; verify each log."""
    nodes = {**context.member_settings, "bureau": context.consortium.bureau_settings}
    members = sorted(context.member_settings)
    deadline = time.monotonic() + WITNESS_TIMEOUT_SECONDS
    targets = {node: _size(settings) for node, settings in nodes.items()}
    for node, settings in nodes.items():
        others = {witness_name(m) for m in members if m != node}
        while not _cosigned(settings, node, targets[node], others, context.clock):
            if time.monotonic() > deadline:
                raise GatewayError(f"{node}'s audit log was not co-signed by every other member in time")
            time.sleep(0.5)
        checked = verify_node_log(settings, clock=context.clock, online=True)
        cosigned = checked.result.largest_cosigned
        names = ", ".join(sorted(n.rsplit("/", 1)[-1] for n in cosigned[1])) if cosigned else "-"
        context.console.print(
            f"  {node}: {checked.result.size} audit entries verified; "
            f"checkpoint {cosigned[0] if cosigned else 0} "
            f"co-signed by {names}"
        )
        if checked.evidence:
            raise GatewayError(f"{node}'s witness kept evidence of misbehaviour: {checked.evidence[0].kind}")
    context.results["witnessed_logs"] = len(nodes)
    _export_bundle(context)


def _export_bundle(context: DemoContext) -> None:
    settings = context.member_settings["bank-1"]
    today = context.clock().astimezone(LOCAL_ZONE).date()
    start = context.clock().astimezone(LOCAL_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    out = context.outputs / f"bank-1-audit-{today.isoformat()}.json"
    export_node_log(
        settings,
        start=start,
        end=context.clock(),
        out=out,
        min_cosignatures=len(context.member_settings) - 1,
        clock=context.clock,
    )
    # Verified by a separate process that holds nothing but the bundle and the CA certificate.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "audit",
            "verify-export",
            str(out),
            "--ca-cert",
            str(settings.tls.ca_cert),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise GatewayError(f"the exported bundle did not verify offline: {result.stderr.strip()}")
    context.console.print(f"  evidence bundle {out.name}: {' '.join(result.stdout.split())}")
    context.results["audit_bundle"] = str(out)


def _size(settings: Settings) -> int:
    store = open_store(settings.store_url)
    try:
        with store.transaction() as session:
            return SqlTree(AUDIT_LOG).size(session)
    finally:
        store.close()


def _cosigned(settings: Settings, node: str, size: int, witnesses: set[str], clock: Clock) -> bool:
    store = open_store(settings.store_url)
    try:
        latest = CheckpointStore(store, clock=clock).latest(audit_origin(node))
    finally:
        store.close()
    if latest is None or latest.checkpoint.size < size:
        return False
    return witnesses <= {line.name for line in latest.note.signatures}
