"""``credgate peers``: the peer certificates and keys this member has pinned, and held changes.

A peer presenting a different certificate than the pinned one is never used silently: the
change is held and audited (``gateway/node/pins.py``). ``accept`` is the operator's
explicit, audited decision to pin it, once the change is confirmed with the peer out of band.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from gateway.config import Settings
from gateway.node.session import member_session
from gateway.store.models import PeerPin, PeerPinCandidate

app = typer.Typer(help="Pinned peer certificates and keys (trusted on first use).", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(highlight=False)


@app.command("list")
def list_pins(config: ConfigOption) -> None:
    """Every pinned peer and every held certificate change."""
    with member_session(Settings.from_file(config)) as session, session.store.transaction() as db:
        pins = list(db.scalars(sa.select(PeerPin).order_by(PeerPin.member_id)))
        held = {c.member_id: c for c in db.scalars(sa.select(PeerPinCandidate))}
        table = Table("member", "role", "certificate (SHA-256)", "keys since", "held change")
        for pin in pins:
            candidate = held.get(pin.member_id)
            table.add_row(
                pin.member_id,
                pin.role.value,
                pin.cert_fingerprint[:16],
                pin.keys_created_at.isoformat(timespec="seconds"),
                candidate.cert_fingerprint[:16] if candidate is not None else "",
            )
    _console.print(table)


@app.command("accept")
def accept(
    config: ConfigOption,
    member: Annotated[str, typer.Option("--member", help="The peer whose held certificate to pin.")],
) -> None:
    """Pin a peer's held certificate change (audited); confirm it with the peer first."""
    with member_session(Settings.from_file(config)) as session:
        peer = session.pins().accept_candidate(member)
    _console.print(f"{member} pinned to certificate {peer.bundle.certificate_fingerprint[:16]}…")


def register(root: typer.Typer) -> None:
    """Add the ``peers`` command group to ``root``."""
    root.add_typer(app, name="peers")
