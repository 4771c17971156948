"""``credgate blacklist``: this member's own listings and appeals against them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.clock import local_date, system_clock
from gateway.config import Settings
from gateway.node.appeals import record_appeal
from gateway.node.session import member_session
from gateway.store.enums import AppealState
from gateway.store.repositories.blacklist import live_listings

app = typer.Typer(help="This member's blacklist listings (they never leave the node).", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console()


@app.command("appeal")
def appeal(
    config: ConfigOption,
    entry_ref: Annotated[str, typer.Option("--entry-ref", help="The listing appealed against.")],
    state: Annotated[AppealState, typer.Option(help="pending, upheld (listing removed) or rejected.")],
) -> None:
    """Record an appeal's state; an upheld appeal removes the listing from every later answer.

    Answers the bureau cached today for a repeated check that counted it are withdrawn too.
    """
    with member_session(Settings.from_file(config)) as session:
        removed = record_appeal(session, entry_ref, state)
        live = live_listings(session.store, local_date(system_clock()))
    _console.print(
        f"listing {entry_ref}: appeal {state.value}; {live} live listings contributed; "
        f"{removed} cached answers withdrawn"
    )


def register(root: typer.Typer) -> None:
    """Add the ``blacklist`` command group to ``root``."""
    root.add_typer(app, name="blacklist")
