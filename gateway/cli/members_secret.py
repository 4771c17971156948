"""``credgate members-secret``: the ceremony that makes (and rotates) the members' secret.

Run ``create`` on one member while the others are online: it makes the next epoch, seals
it to every pinned member and signs it, and the bureau relays the envelopes it can
neither open nor forge. ``--epoch N`` re-sends an epoch this member holds to members that
were offline (docs/subject-check.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.config import Settings
from gateway.node.ceremony import run_ceremony
from gateway.node.session import member_session

app = typer.Typer(help="The members-only secret the bureau never holds.", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(highlight=False)


@app.command("create")
def create(
    config: ConfigOption,
    epoch: Annotated[
        int | None, typer.Option(help="Re-send this held epoch instead of making a new one.")
    ] = None,
) -> None:
    """Make the next epoch of the members' secret and hand it to every member through the bureau."""
    with member_session(Settings.from_file(config)) as session:
        made, delivered, failed = run_ceremony(session, epoch=epoch)
    _console.print(
        f"members' secret epoch {made}: delivered to {len(delivered)} members"
        + (f"; not delivered to {', '.join(failed)} (re-send with --epoch {made})" if failed else "")
    )


@app.command("status")
def status(config: ConfigOption) -> None:
    """List the epochs of the members' secret this member holds (never the secret)."""
    with member_session(Settings.from_file(config)) as session:
        epochs = session.secrets.epochs
    _console.print(f"epochs held: {', '.join(map(str, epochs)) or 'none'}")


def register(root: typer.Typer) -> None:
    """Add the ``members-secret`` command group to ``root``."""
    root.add_typer(app, name="members-secret")
