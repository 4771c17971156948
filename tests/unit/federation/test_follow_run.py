"""`credgate train` shows what a run is doing before round 1 (#17 item 16: nothing for ~5 minutes)."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import create_autospec

from gateway.federation.control import ControlClient, RunState
from gateway.federation.runs import StartedRun, follow_run


def test_the_run_state_and_phase_are_reported_before_the_first_round(tmp_path: Path) -> None:
    run = StartedRun(7, "f" * 64, tmp_path)
    results = tmp_path / "results.json"
    # What the SuperLink and the ServerApp say on successive polls.
    script = [
        ("pending", "", None),
        ("starting", "", None),
        ("running", "", {"phase": "waiting for at least 3 members", "rounds": []}),
        ("running", "", {"phase": "3 members connected; agreeing on feature normalisation", "rounds": []}),
        ("running", "", {"phase": "training round 1 of 1", "rounds": [{"round": 0, "auc": 0.5}]}),
        ("finished", "completed", {"phase": "", "rounds": [{"round": 0}, {"round": 1, "auc": 0.7}]}),
    ]
    polls = iter(script)

    def run_state(run_id: int) -> RunState:
        status, sub_status, document = next(polls)
        if document is not None:
            results.write_text(json.dumps(document), encoding="utf-8")
        return RunState(run_id, status, sub_status, "", run.fab_hash)

    control = create_autospec(ControlClient, instance=True)
    control.run_state.side_effect = run_state
    events: list[str] = []

    follow_run(
        control,
        run,
        on_progress=lambda entry: events.append(f"round {entry.get('round')}"),
        on_status=events.append,
        timeout=60,
        poll_seconds=0,
    )

    assert events[: events.index("round 0")] == [
        "pending",
        "starting",
        "running: waiting for at least 3 members",
        "running: 3 members connected; agreeing on feature normalisation",
    ]
    assert events[-2:] == ["round 1", "finished"]
