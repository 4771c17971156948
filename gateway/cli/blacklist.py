"""``credgate blacklist``: this member's own listings and appeals against them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.clock import local_date, system_clock
from gateway.config import Settings
from gateway.store.database import open_store
from gateway.store.enums import AppealState
from gateway.store.repositories.blacklist import live_listings, set_appeal_state

app = typer.Typer(help="This member's blacklist listings (they never leave the node).", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console()


@app.command("appeal")
def appeal(
    config: ConfigOption,
    entry_ref: Annotated[str, typer.Option("--entry-ref", help="The listing appealed against.")],
    state: Annotated[AppealState, typer.Option(help="pending, upheld (listing removed) or rejected.")],
) -> None:
    """Record an appeal's state; an upheld appeal removes the listing from every later answer."""
    store = open_store(Settings.from_file(config).store_url)
    try:
        set_appeal_state(store, entry_ref, state)
        live = live_listings(store, local_date(system_clock()))
    finally:
        store.close()
    _console.print(f"listing {entry_ref}: appeal {state.value}; {live} live listings contributed")


def register(root: typer.Typer) -> None:
    """Add the ``blacklist`` command group to ``root``."""
    root.add_typer(app, name="blacklist")
