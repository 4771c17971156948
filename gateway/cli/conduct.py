"""``credgate conduct``: screen call transcripts and collection notes at this node; list the flags.

Flags stay on this node; only counts by rule reach the regulator report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import system_clock
from gateway.conduct.node import read_transcripts, screen_and_keep
from gateway.conduct.rules import ConductRuleSet
from gateway.conduct.screener import ConductScreener
from gateway.config import Settings
from gateway.policy.contact_rules import ContactRules
from gateway.store.database import open_store
from gateway.store.repositories.conduct import ConductRepository

app = typer.Typer(
    help="Conduct screening of collection calls and notes (智能催收监控).", no_args_is_help=True
)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(width=160)


@app.command("screen")
def screen(
    config: ConfigOption,
    file: Annotated[Path, typer.Argument(help="Transcripts and notes, one JSON object a line.")],
) -> None:
    """Screen each transcript or note and keep its flags here."""
    settings = Settings.from_file(config)
    contact_rules = ContactRules.from_directory(settings.policies_dir)
    screener = ConductScreener(ConductRuleSet.from_directory(settings.policies_dir), contact_rules)
    transcripts = read_transcripts(file)
    store = open_store(settings.store_url)
    counts: Counter[str] = Counter()
    try:
        for transcript in transcripts:
            counts.update(
                f.rule
                for f in screen_and_keep(store, screener, contact_rules, transcript, now=system_clock())
            )
    finally:
        store.close()
    summary = ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items())) or "none"
    _console.print(f"{len(transcripts)} screened; flags by rule: {summary}")


@app.command("flags")
def flags(config: ConfigOption) -> None:
    """Every flag kept at this node: source, rule, utterance and span."""
    store = open_store(Settings.from_file(config).store_url)
    try:
        found = ConductRepository(store).flags()
    finally:
        store.close()
    table = Table(
        "source", "rule", "utterance", "span", "words", title=f"{len(found)} conduct flags (kept here)"
    )
    for flag in found:
        where = "call" if flag.utterance_index < 0 else str(flag.utterance_index)
        table.add_row(flag.source_ref, flag.rule, where, f"{flag.span_start}-{flag.span_end}", flag.excerpt)
    _console.print(table)


def register(root: typer.Typer) -> None:
    """Add the ``conduct`` command group to ``root``."""
    root.add_typer(app, name="conduct")
