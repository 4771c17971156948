"""What the demo's steps share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium


@dataclass
class DemoContext:
    """Folders, the running consortium, the synthetic ground truth and collected results."""

    workdir: Path
    console: Console
    consortium: RunningConsortium
    member_settings: dict[str, Settings]
    regulator_settings: Settings | None = None
    # Whether the nodes run their Flower parts (the shared-model steps need them).
    federated: bool = False
    results: dict[str, object] = field(default_factory=dict)
    # Resident IDs the demo checked: kept in memory only, never written to the summary.
    checked_subjects: list[str] = field(default_factory=list)
    exit_codes: dict[str, int] = field(default_factory=dict)
    # The lenders' model book (gateway.synth.books) and the model the demo trains on it.
    book: str = "uci"
    model: str = "gbt"
    clock: Clock = system_clock

    @property
    def outputs(self) -> Path:
        """Folder for what the steps produce (batch results, envelopes, reports)."""
        path = self.workdir / "outputs"
        path.mkdir(exist_ok=True)
        return path

    def truth(self) -> dict[str, Any]:
        """The synthetic consortium's ground truth (exists for synthetic data only)."""
        data: dict[str, Any] = json.loads(
            (self.workdir / "consortium" / "truth.json").read_text(encoding="utf-8")
        )
        return data
