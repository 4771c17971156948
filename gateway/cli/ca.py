"""``credgate ca``: the consortium CA operated by the bureau."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import system_clock
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role

app = typer.Typer(help="Create the consortium CA, issue and revoke node certificates.", no_args_is_help=True)
CADir = Annotated[Path, typer.Option("--ca-dir", envvar="CREDGATE_CA_DIR", help="Folder holding the CA.")]
_console = Console()


@app.command("init")
def init(
    ca_dir: CADir = Path("ca"),
    name: Annotated[str, typer.Option(help="Consortium name in the CA certificate.")] = "credgate",
) -> None:
    """Create a new consortium CA (key, certificate, empty revocation list)."""
    authority = CertificateAuthority.init(ca_dir, name=name, now=system_clock())
    _console.print(
        f"CA created in {ca_dir} (certificate {ca_dir / 'ca.cert.pem'}, "
        f"serial {authority.certificate.serial_number:x})"
    )


@app.command("issue")
def issue(
    member_id: Annotated[str, typer.Option("--member-id", help="Consortium member id, a DNS label.")],
    role: Annotated[Role, typer.Option(help="Role written into the certificate.")],
    ca_dir: CADir = Path("ca"),
    out: Annotated[Path, typer.Option(help="Folder for the key and certificate.")] = Path("certs"),
    valid_days: Annotated[int, typer.Option(min=1, max=825)] = 365,
    host: Annotated[list[str] | None, typer.Option(help="Extra IP or DNS name the node serves on.")] = None,
) -> None:
    """Issue a node key and certificate for one member and role."""
    authority = CertificateAuthority.load(ca_dir)
    hosts = ("127.0.0.1", "localhost", *(host or []))
    issued = authority.issue(
        member_id=member_id, role=role, out_dir=out, now=system_clock(), valid_days=valid_days, hosts=hosts
    )
    _console.print(
        f"issued {role.value} certificate for {member_id}: {issued.cert_path} "
        f"(key {issued.key_path}, serial {issued.serial:x})"
    )


@app.command("revoke")
def revoke(
    ca_dir: CADir = Path("ca"),
    member_id: Annotated[
        str | None, typer.Option("--member-id", help="Revoke every live certificate.")
    ] = None,
    serial: Annotated[str | None, typer.Option(help="Revoke one certificate (hex serial).")] = None,
) -> None:
    """Revoke certificates and re-sign the revocation list nodes load."""
    authority = CertificateAuthority.load(ca_dir)
    serials = authority.revoke(
        now=system_clock(), member_id=member_id, serial=None if serial is None else int(serial, 16)
    )
    _console.print(f"revoked {', '.join(f'{s:x}' for s in serials)}; CRL updated at {ca_dir / 'crl.pem'}")


@app.command("list")
def list_issued(ca_dir: CADir = Path("ca")) -> None:
    """List every certificate the CA issued."""
    table = Table("member", "role", "serial", "not after", "revoked")
    for entry in CertificateAuthority.load(ca_dir).issued():
        table.add_row(
            entry.member_id, entry.role, f"{entry.serial:x}", entry.not_after, entry.revoked_at or ""
        )
    _console.print(table)
