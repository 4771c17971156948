"""``credgate ca``: the consortium CA operated by the bureau."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import system_clock
from gateway.errors import InvalidInputError
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


@app.command("sign")
def sign(
    csr: Annotated[Path, typer.Option("--csr", help="The node's request (credgate init wrote it).")],
    member_id: Annotated[str, typer.Option("--member-id", help="The member id the request must name.")],
    role: Annotated[Role, typer.Option(help="Role written into the certificate (the CA decides it).")],
    ca_dir: CADir = Path("ca"),
    out: Annotated[Path, typer.Option(help="Folder for the certificate and ca.cert.pem.")] = Path("certs"),
    valid_days: Annotated[int, typer.Option(min=1, max=825)] = 365,
    host: Annotated[list[str] | None, typer.Option(help="Extra IP or DNS name the node serves on.")] = None,
) -> None:
    """Certify a node's own key from its CSR; the node's private key never reaches the CA."""
    try:
        request = csr.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {csr}: {exc.strerror}", field="--csr") from exc
    issued = CertificateAuthority.load(ca_dir).sign_request(
        request,
        member_id=member_id,
        role=role,
        out_dir=out,
        now=system_clock(),
        valid_days=valid_days,
        hosts=("127.0.0.1", "localhost", *(host or [])),
    )
    _console.print(
        f"issued {role.value} certificate for {member_id}: {issued.cert_path} (serial {issued.serial:x}); "
        f"send it with {issued.ca_cert_path} and {ca_dir / 'crl.pem'} to the node",
        markup=False,
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


@app.command("crl")
def crl(
    ca_dir: CADir = Path("ca"),
    valid_days: Annotated[
        int, typer.Option(min=1, max=30, help="Days until nextUpdate (nodes refuse every call after it).")
    ] = 7,
) -> None:
    """Re-sign the revocation list (same revocations, fresh nextUpdate); copy it to every node."""
    path = CertificateAuthority.load(ca_dir).publish_crl(
        now=system_clock(), validity=dt.timedelta(days=valid_days)
    )
    revoked = sum(1 for entry in CertificateAuthority.load(ca_dir).issued() if entry.revoked_at)
    _console.print(
        f"CRL re-signed at {path}: {revoked} revoked, valid for {valid_days} days; "
        "publish it to every node before it expires (schedule this command daily)",
        markup=False,
    )


@app.command("list")
def list_issued(ca_dir: CADir = Path("ca")) -> None:
    """List every certificate the CA issued."""
    table = Table("member", "role", "serial", "not after", "revoked")
    for entry in CertificateAuthority.load(ca_dir).issued():
        table.add_row(
            entry.member_id, entry.role, f"{entry.serial:x}", entry.not_after, entry.revoked_at or ""
        )
    _console.print(table)
