"""``credgate init ROLE``: a new node's folder (configuration, key, CSR) ready for the CA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.identity.peer import Role
from gateway.node.folder import write_node_folder

_console = Console(highlight=False)


def init(
    role: Annotated[
        Role, typer.Argument(help="bureau, bank, consumer_finance, micro_lender, agency, regulator.")
    ],
    member_id: Annotated[str, typer.Option("--member-id", help="This node's member id (a DNS label).")],
    folder: Annotated[Path, typer.Option("--dir", help="Folder to create for the node.")],
    bureau_address: Annotated[
        str, typer.Option("--bureau-address", help="host:port of the bureau (members and regulators).")
    ] = "bureau.example:7443",
) -> None:
    """Write DIR/node.toml, DIR/tls/MEMBER.key.pem (0600) and DIR/tls/MEMBER.csr.pem for the CA."""
    written = write_node_folder(role, member_id, folder, bureau_address=bureau_address)
    _console.print(
        f"wrote {written.config}, key {written.key} (keep it here) and request {written.request}.\n"
        f"Next, at the CA: credgate ca sign --csr {written.request.name} --member-id {member_id} "
        f"--role {role.value} --out tls/\n"
        f"then copy MEMBER.cert.pem, ca.cert.pem and crl.pem into {folder / 'tls'} and run "
        f"credgate doctor --config {written.config}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``credgate init`` to ``app``."""
    app.command("init")(init)
