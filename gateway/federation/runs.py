"""Start a federated run on the bureau's SuperLink and follow it to its end.

``flwr run`` exits 0 even when a run fails, so credgate drives the control API
itself: it builds the bundle, refuses one that is not allow-listed, starts the
run with an ``output-dir`` under the bureau's data folder, then polls the run's
status and the ServerApp's ``results.json`` (rewritten after every round; its
``rounds`` list holds one object per finished round) until the run ends. A run
that ends other than ``finished:completed`` raises :class:`TrainingFailed`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.federation.bundles import BundleAllowList, build_bundle, fab_sha256
from gateway.federation.control import ControlClient, RunState
from gateway.federation.errors import TrainingFailed

RESULTS_FILE = "results.json"
ConfigValue = str | int | float | bool
Progress = Callable[[dict[str, Any]], None]
# Told what the run is doing whenever that changes: "pending", "starting", "running: <phase>".
Status = Callable[[str], None]


@dataclass(frozen=True)
class StartedRun:
    """A run the SuperLink accepted."""

    run_id: int
    fab_hash: str
    output_dir: Path


def start_run(
    control: ControlClient,
    app_dir: Path,
    *,
    allow_list: BundleAllowList | None,
    output_root: Path,
    config: dict[str, ConfigValue],
) -> StartedRun:
    """Build ``app_dir`` into a bundle, check it against ``allow_list`` and start a run.

    ``allow_list=None`` skips the bureau-side check (tests use it to prove members refuse).

    Raises
    ------
    BundleNotAllowed
        When the bundle's hash is not allow-listed.
    FederationError
        When the bundle cannot be built or the SuperLink refuses the run.

    """
    fab = build_bundle(app_dir)
    digest = fab_sha256(fab)
    if allow_list is not None:
        allow_list.check(digest)
    output_dir = output_root / f"run-{time.strftime('%Y%m%dT%H%M%S')}-{digest[:8]}"
    output_dir.mkdir(parents=True, exist_ok=True)
    run_id = control.start_run(fab, digest, config={**config, "output-dir": str(output_dir)})
    return StartedRun(run_id, digest, output_dir)


def follow_run(
    control: ControlClient,
    run: StartedRun,
    *,
    on_progress: Progress,
    timeout: float,
    poll_seconds: float = 1.0,
    on_status: Status | None = None,
) -> dict[str, Any]:
    """Poll until the run ends; report each new round; return the ServerApp's results.

    Before its first round a run spends minutes (the SuperLink starting the ServerApp,
    members' SuperNodes starting their ClientApps, agreeing on feature normalisation):
    ``on_status`` is told the run's state and the ServerApp's current phase whenever
    either changes, so that an operator sees it is moving.

    Raises
    ------
    TrainingFailed
        When the run fails, is stopped, or does not end within ``timeout`` (it is then stopped).

    """
    deadline = time.monotonic() + timeout
    seen = 0
    shown = ""
    while True:
        state = control.run_state(run.run_id)
        seen = _report_new_rounds(run.output_dir / RESULTS_FILE, seen, on_progress)
        described = describe(state, read_results(run.output_dir / RESULTS_FILE))
        if on_status is not None and described != shown:
            on_status(described)
            shown = described
        if state.finished:
            break
        if time.monotonic() > deadline:
            control.stop_run(run.run_id)
            raise TrainingFailed(f"run {run.run_id} did not finish within {timeout:.0f} s; stopped it")
        time.sleep(poll_seconds)
    _report_new_rounds(run.output_dir / RESULTS_FILE, seen, on_progress)
    if not state.succeeded:
        raise TrainingFailed(_failure(state) + _member_failures(run.output_dir / RESULTS_FILE))
    return read_results(run.output_dir / RESULTS_FILE)


def describe(state: RunState, results: dict[str, Any]) -> str:
    """What the run is doing: ``pending``, ``starting`` or ``running: <the ServerApp phase>``."""
    phase = results.get("phase")
    if state.status == "running" and isinstance(phase, str) and phase:
        return f"running: {phase}"
    return state.status


def read_results(path: Path) -> dict[str, Any]:
    """The ServerApp's results document, or ``{}`` while it has written none (or half of one)."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _report_new_rounds(path: Path, seen: int, on_progress: Progress) -> int:
    rounds = read_results(path).get("rounds", [])
    if not isinstance(rounds, list):
        return seen
    for entry in rounds[seen:]:
        on_progress(entry if isinstance(entry, dict) else {"value": entry})
    return max(seen, len(rounds))


def _member_failures(path: Path) -> str:
    """The ServerApp's record of which members failed which phase, by reason class only."""
    failure = read_results(path).get("failure")
    if not isinstance(failure, dict):
        return ""
    members = failure.get("members")
    named = [
        f"member {m.get('member')} failed phase {m.get('phase')}: {m.get('reason')}"
        for m in (members if isinstance(members, list) else [])
        if isinstance(m, dict)
    ]
    return "; " + "; ".join(named or [str(failure.get("message", failure.get("reason", "")))])


def _failure(state: RunState) -> str:
    details = f": {state.details}" if state.details else ""
    return f"run {state.run_id} ended {state.status}:{state.sub_status}{details}"
