"""A node's folder, ready for the CA: configuration, private key and certificate request.

``credgate init ROLE`` writes::

    <dir>/node.toml                   configuration for the role (every key documented)
    <dir>/tls/<member>.key.pem        the node's P-256 key, mode 0600 (never leaves the node)
    <dir>/tls/<member>.csr.pem        the request to hand to the CA (credgate ca sign)
    <dir>/data/                       the node's data folder

The CA answers with ``<member>.cert.pem`` and ``ca.cert.pem``, copied into ``<dir>/tls``,
and the current ``crl.pem``; then ``credgate doctor --config <dir>/node.toml`` checks it.
The shipped examples in ``examples/`` are this module's output for each role.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError
from gateway.identity.ca.authority import signing_request
from gateway.identity.peer import Role

CONFIG_FILE = "node.toml"
_MEMBER_ROLES = frozenset({Role.BANK, Role.CONSUMER_FINANCE, Role.MICRO_LENDER, Role.AGENCY})


@dataclass(frozen=True)
class NodeFolder:
    """What ``credgate init`` wrote."""

    config: Path
    key: Path
    request: Path


def render_config(
    role: Role, member_id: str, *, bureau_address: str, bureau_member_id: str = "bureau"
) -> str:
    """The documented ``node.toml`` for a node of ``role`` (relative paths: next to the file)."""
    lines = [
        f"# credgate {role.value} node — see docs/operations.md. Relative paths are resolved next to",
        "# this file. Unknown sections or keys are refused, naming the key.",
        "",
        "[node]",
        f'member_id = "{member_id}"          # must match the certificate',
    ]
    if role is Role.REGULATOR:
        lines.append('listen = "127.0.0.1:0"         # a regulator serves nothing; it only asks the bureau')
    else:
        lines += [
            'listen = "0.0.0.0:7443"         # where the node serves (mTLS); port 0 lets the OS choose',
            '# advertise_address = "node.example:7443"   # what peers dial, when listen is 0.0.0.0',
        ]
    lines += [
        'data_dir = "data"',
        "heartbeat_seconds = 5",
        '# policies_dir = "/etc/credgate/policies"  # default: the shipped policies/',
        "",
        "[store]",
        'url = "sqlite:///data/store.db"   # or postgresql+psycopg://credgate@db.example/credgate',
        "",
        "[tls]",
        'ca_cert = "tls/ca.cert.pem"',
        f'cert = "tls/{member_id}.cert.pem"',
        f'key = "tls/{member_id}.key.pem"',
        'crl = "tls/crl.pem"             # re-published by the CA (credgate ca crl); refused once expired',
        "",
        "[bureau]",
        f'member_id = "{bureau_member_id}"',
    ]
    if role is not Role.BUREAU:
        lines.append(f'address = "{bureau_address}"')
    if role is not Role.REGULATOR:
        lines += [
            "",
            "[server]                        # bounds on what callers may occupy (defaults shown)",
            "max_workers = 32",
            "max_concurrent_rpcs = 128",
            "max_calls_per_peer = 24",
            "max_streams_per_peer = 8",
            "idle_stream_seconds = 30",
            "shutdown_grace_seconds = 5",
            "",
            "[metrics]",
            'listen = "127.0.0.1:9464"       # Prometheus /metrics, loopback only',
        ]
    if role is Role.BUREAU or role in _MEMBER_ROLES - {Role.AGENCY}:
        lines += ["", "[federation]", "enabled = false                 # or start with --federated"]
        if role is Role.BUREAU:
            lines.append('relay_listen = "0.0.0.0:7444"   # where members reach the Flower fleet relay')
        else:
            lines.append(f'relay_address = "{bureau_address.rpartition(":")[0]}:7444"')
    return "\n".join(lines) + "\n"


def write_node_folder(
    role: Role, member_id: str, folder: Path, *, bureau_address: str, bureau_member_id: str = "bureau"
) -> NodeFolder:
    """Write ``folder`` for a new node (see the module docstring).

    Raises
    ------
    ConfigError
        When ``folder`` already holds a ``node.toml``.
    InvalidInputError
        When the member id is not a lower-case DNS label.

    """
    config = folder / CONFIG_FILE
    if config.exists():
        raise ConfigError(f"{config} already exists; choose an empty folder")
    key = folder / "tls" / f"{member_id}.key.pem"
    csr = signing_request(member_id, key)
    request = folder / "tls" / f"{member_id}.csr.pem"
    request.write_bytes(csr)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config.write_text(
        render_config(role, member_id, bureau_address=bureau_address, bureau_member_id=bureau_member_id),
        encoding="utf-8",
    )
    return NodeFolder(config, key, request)
