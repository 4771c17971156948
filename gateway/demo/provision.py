"""Provision a consortium on one machine: CA, node certificates and node configuration files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from gateway.config import Settings
from gateway.identity.ca import CertificateAuthority
from gateway.identity.ca.authority import CA_CERT, CRL_FILE
from gateway.identity.peer import Role

BUREAU_ID = "bureau"
MEMBER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})
CONFIG_FILE = "node.toml"


@dataclass(frozen=True)
class NodePlan:
    """One node to provision: its member id, role and folder."""

    member_id: str
    role: Role
    directory: Path

    @property
    def config_path(self) -> Path:
        """The node's TOML configuration file."""
        return self.directory / CONFIG_FILE


def provision_ca(directory: Path, *, now: dt.datetime) -> CertificateAuthority:
    """Create the consortium CA for the demo."""
    return CertificateAuthority.init(directory, name="credgate demo", now=now)


def provision_node(
    authority: CertificateAuthority,
    plan: NodePlan,
    *,
    bureau_address: str | None,
    heartbeat_seconds: float,
    now: dt.datetime,
    policies_dir: Path | None = None,
) -> Settings:
    """Issue ``plan``'s certificate and write its configuration; return the loaded settings."""
    tls_dir = plan.directory / "tls"
    issued = authority.issue(member_id=plan.member_id, role=plan.role, out_dir=tls_dir, now=now)
    lines = [
        "[node]",
        f'member_id = "{plan.member_id}"',
        'listen = "127.0.0.1:0"',
        'data_dir = "data"',
        f"heartbeat_seconds = {heartbeat_seconds}",
        *([f'policies_dir = "{policies_dir.resolve()}"'] if policies_dir is not None else []),
        "",
        "[store]",
        f'url = "sqlite:///{(plan.directory / "data" / "store.db").resolve()}"',
        "",
        "[tls]",
        f'ca_cert = "tls/{CA_CERT}"',
        f'cert = "tls/{issued.cert_path.name}"',
        f'key = "tls/{issued.key_path.name}"',
        f'crl = "{(authority.directory / CRL_FILE).resolve()}"',
        "",
        "[bureau]",
        f'member_id = "{BUREAU_ID}"',
    ]
    if bureau_address is not None:
        lines.append(f'address = "{bureau_address}"')
    if plan.role is Role.BUREAU:
        # The bureau writes the CA's issued and revoked certificates into the key log.
        lines += ["", "[ca]", f'dir = "{authority.directory.resolve()}"']
    plan.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # No members' secret here: the members make it among themselves by the ceremony
    # (``credgate members-secret create``, issue #11) once they are online; the provisioner and
    # the bureau never hold it.
    return Settings.from_file(plan.config_path, environ={})
