"""Round time of Flower's deployment engine behind credgate's relay, and where it goes.

Run with ``python -m bench.federation_rounds``. Starts a bureau's SuperLink and
fleet relay and three members' gateways and SuperNodes (real processes on
loopback, as ``tests/integration/federation`` does), runs the test-only numpy
FedAvg app for a few rounds with flower-superexec's task poll at Flower's
default (1 s) and at credgate's setting (0.1 s), and measures the parts of a
round that can be measured in isolation: a fleet call through the relay versus
straight to the SuperLink, a ClientApp process start (interpreter + flwr
imports), and the local training step. The rest of a round is polling: the
SuperNode sleeps 3 s whenever a pull finds nothing and the ServerApp's grid
sleeps 3 s between reply pulls (both hard-coded in flwr 1.41).

Then (unless ``--quick``) the real bundle, ``federated/bundle`` (the shared MLP
with SecAgg+ on, federated normalisation and evaluation), over a launched demo
consortium (bureau + four lenders + an agency as node processes started with
``--federated``): its round times and the ServerApp's time per phase.
"""

from __future__ import annotations

import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.report import write_section
from gateway.federation.environment import SUPEREXEC_POLL_ENV, SUPEREXEC_POLL_SECONDS
from gateway.federation.runs import follow_run, start_run
from tests.integration.federation.harness import APP_DIR, Federation, running_federation

ROUNDS = 4
CALLS = 50


def _rounds(poll: str) -> tuple[list[float], float]:
    os.environ[SUPEREXEC_POLL_ENV] = poll
    with tempfile.TemporaryDirectory() as folder, running_federation(Path(folder)) as federation:
        started = time.perf_counter()
        run = start_run(
            federation.control, APP_DIR, allow_list=None, output_root=Path(folder) / "out",
            config={"rounds": ROUNDS, "min-members": 3},
        )  # fmt: skip
        results = follow_run(federation.control, run, on_progress=lambda _: None, timeout=600)
        total = time.perf_counter() - started
        hop = _hops(federation) if poll == SUPEREXEC_POLL_SECONDS else (0.0, 0.0)
    global _HOPS
    if poll == SUPEREXEC_POLL_SECONDS:
        _HOPS = hop
    return [float(entry["seconds"]) for entry in results["rounds"]], total


_HOPS = (0.0, 0.0)


def _hops(federation: Federation) -> tuple[float, float]:
    """Mean ms of an (unsigned, so 401) fleet call via the member gateway and straight to the SuperLink."""
    ca = str(federation.bureau.tls.ca_cert)
    gateway = int(str(federation.parts[0].info["gateway_port"]))
    superlink = int(federation.control._base.rpartition(":")[2])
    means = []
    for port in (gateway, superlink):
        with httpx.Client(verify=ssl.create_default_context(cafile=ca)) as client:
            url = f"https://127.0.0.1:{port}/v1/fleet/get-run"
            client.post(url, content=b"", headers={"content-type": "application/protobuf"})
            started = time.perf_counter()
            for _ in range(CALLS):
                client.post(url, content=b"", headers={"content-type": "application/protobuf"})
            means.append((time.perf_counter() - started) / CALLS * 1000)
    return means[0], means[1]


def _process_start() -> float:
    """Seconds for a fresh interpreter to import what a ClientApp process imports."""
    code = "import flwr.app, flwr.clientapp, numpy"
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _training() -> float:
    sys.path.insert(0, str(APP_DIR))
    import numpy as np
    from credgate_fedtest.task import FEATURES, member_data, train

    x, y = member_data("bank-1")
    started = time.perf_counter()
    train(np.zeros(FEATURES), x, y, steps=20)
    return time.perf_counter() - started


def _real_bundle(rounds: int) -> dict[str, object]:
    """Run federated/bundle over a launched consortium; return the ServerApp's results."""
    from rich.console import Console

    from gateway.demo.launch import launched_consortium
    from gateway.federation.control import ControlClient
    from gateway.federation.environment import free_loopback_port
    from gateway.federation.parts import read_info
    from gateway.synth.members import Composition

    os.environ[SUPEREXEC_POLL_ENV] = SUPEREXEC_POLL_SECONDS
    os.environ["CREDGATE_FEDERATED"] = "1"
    os.environ["CREDGATE_FEDERATION_RELAY"] = f"127.0.0.1:{free_loopback_port()}"
    bundle = Path(__file__).resolve().parents[1] / "federated" / "bundle"
    composition = Composition(bank=3, consumer_finance=1, micro_lender=0, agency=1)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder) / "consortium"
        with launched_consortium(
            workdir, people=2000, seed=7, composition=composition, console=Console()
        ) as (
            context,
            _,
        ):
            bureau = context.consortium.bureau_settings
            control = ControlClient(
                int(str(read_info(bureau.data_dir)["superlink_port"])), ca_cert=bureau.tls.ca_cert
            )
            try:
                run = start_run(
                    control,
                    bundle,
                    allow_list=None,
                    output_root=Path(folder) / "out",
                    config={"rounds": rounds},
                )
                return follow_run(control, run, on_progress=lambda _: None, timeout=1800)
            finally:
                control.close()


def _real_lines(results: dict[str, object]) -> list[str]:
    rounds = [entry for entry in results["rounds"] if isinstance(entry, dict) and entry.get("round", 0) > 0]  # type: ignore[attr-defined]
    phases = results.get("phase_seconds") or {}
    assert isinstance(phases, dict)
    first = results["rounds"][0]  # type: ignore[index]
    return [
        "",
        f"Real bundle (`federated/bundle`, MLP, SecAgg+ on, {results['members']} lenders, demo consortium of 2,000 people;",
        "the agency's node runs no SuperNode): AUC on the members' held-out rows by round",
        f"{first.get('auc', 0):.3f} (initial) → "
        + " → ".join(f"{entry['auc']:.3f}" for entry in rounds)
        + ".",
        "",
        "| | seconds |",
        "|---|---|",
        *[f"| round {entry['round']} (train + evaluate) | {entry['seconds']:.1f} |" for entry in rounds],
        *[f"| phase `{name}` (whole run) | {seconds:.1f} |" for name, seconds in phases.items()],
        f"| whole run | {results['elapsed_seconds']:.1f} |",
    ]


def main() -> None:
    """Measure and write the section."""
    default_rounds, default_total = _rounds("1.0")
    tuned_rounds, tuned_total = _rounds(SUPEREXEC_POLL_SECONDS)
    via_relay, direct = _HOPS
    start, training = _process_start(), _training()
    mean_default, mean_tuned = statistics.mean(default_rounds), statistics.mean(tuned_rounds)
    calls_per_round = 12  # pull, pull-object ×k, confirm, push, push-object ×k per member (serial)
    lines = [
        "`python -m bench.federation_rounds`: bureau SuperLink + mTLS fleet relay, 3 members' gateways and",
        f"SuperNodes as real processes on loopback; the test-only numpy FedAvg app, {ROUNDS} rounds, one TRAIN",
        "message per member per round (no SecAgg+: that is `federated/`'s bundle, 4 such round trips per round).",
        "",
        "| superexec task poll | mean round (s) | rounds (s) | whole run incl. ServerApp start (s) |",
        "|---|---|---|---|",
        f"| 1.0 s (Flower default) | {mean_default:.2f} | {', '.join(f'{r:.2f}' for r in default_rounds)} "
        f"| {default_total:.1f} |",
        f"| {SUPEREXEC_POLL_SECONDS} s (credgate) | {mean_tuned:.2f} | {', '.join(f'{r:.2f}' for r in tuned_rounds)} "
        f"| {tuned_total:.1f} |",
        "",
        "Breakdown of one round (credgate setting):",
        "",
        "| part | time | how measured |",
        "|---|---|---|",
        f"| ClientApp process start | {start:.2f} s | fresh interpreter importing flwr.app, flwr.clientapp, numpy |",
        f"| local training | {training * 1000:.1f} ms | the app's 20 gradient steps, in process |",
        f"| fleet call via relay | {via_relay:.1f} ms | member gateway → mTLS relay → SuperLink, mean of {CALLS} |",
        f"| fleet call direct | {direct:.1f} ms | straight to the SuperLink (bureau loopback), mean of {CALLS} |",
        f"| relay overhead per round | ≈ {(via_relay - direct) * calls_per_round / 1000:.2f} s | "
        f"× ~{calls_per_round} serial fleet calls per member per round |",
        f"| polling and waiting (rest) | ≈ {mean_tuned - start - training - via_relay * calls_per_round / 1000:.2f} s | "
        "round − the rows above: SuperNode's 3 s idle pull and the grid's 3 s reply pull (hard-coded) |",
    ]
    if "--quick" not in sys.argv:
        lines += _real_lines(_real_bundle(rounds=2))
    body = "\n".join(lines)
    print(body)
    write_section("Federated rounds (deployment engine)", body)


if __name__ == "__main__":
    main()
