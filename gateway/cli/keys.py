"""``credgate keys``: the consortium key log as this node sees it, and confirming one's own rotation."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import system_clock
from gateway.config import Settings
from gateway.crypto.ed25519 import load_or_create_log_key
from gateway.errors import NotFoundError
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import bureau_address
from gateway.rpc.channel import open_channel
from gateway.store.database import open_store
from gateway.store.enums import AuditDecision
from gateway.store.repositories.audit import AuditLog
from gateway.tlog.checkpoints import CheckpointStore
from gateway.tlog.errors import KeyLogAlert
from gateway.tlog.keys import KEY_LOG_ORIGIN
from gateway.transparency.bureau import KeyLog
from gateway.transparency.client import TransparencyClient
from gateway.transparency.gate import KeyLogGate
from gateway.transparency.keylog import (
    PENDING,
    MemberKeyState,
    confirmation_entry,
    decode_entry,
    encode_entry,
    replay,
)
from gateway.transparency.settings import TransparencySettings

app = typer.Typer(help="The consortium key log: certificates and keys of every node.", no_args_is_help=True)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(highlight=False)


@app.command("log")
def log(config: ConfigOption) -> None:
    """What changed in the key log and when, each certificate's status, and alerts for this node."""
    settings = Settings.from_file(config)
    identity = TLSIdentity.from_settings(settings.tls)
    member_id = identity.own.member_id
    store = open_store(settings.store_url)
    try:
        entries = KeyLog(store).entries()
        states = replay(entries, ca_certificate_pem=identity.ca_pem)
        witnessed = CheckpointStore(store, clock=system_clock).witnessed(KEY_LOG_ORIGIN)
        trusted = None
        if identity.own.role.value != "bureau":
            trusted = KeyLogGate(
                store,
                ca_certificate_pem=identity.ca_pem,
                bureau_member_id=settings.bureau_member_id,
                settings=TransparencySettings.from_directory(settings.policies_dir),
                clock=system_clock,
            ).trusted()
    finally:
        store.close()
    table = Table(
        "leaf", "type", "member", "detail", "status", title=f"consortium key log ({len(entries)} leaves)"
    )
    for index, data in enumerate(entries):
        entry = decode_entry(data)
        state = states.get(str(entry.get("member_id")))
        table.add_row(
            str(index),
            str(entry["type"]),
            str(entry.get("member_id")),
            _detail(entry),
            _status(entry, state, index),
        )
    _console.print(table)
    if witnessed is not None:
        _console.print(f"co-signed by this node up to size {witnessed.size}")
    if trusted is not None:
        _console.print(
            f"trusted checkpoint: size {trusted.checkpoint.size}, co-signed by {', '.join(trusted.cosigners)}"
        )
    alerts = _alerts(states.get(member_id), identity.own.fingerprint)
    for alert in alerts:
        _console.print(f"[red]ALERT[/]: {alert}")
    if alerts:
        raise KeyLogAlert(
            f"the key log holds {len(alerts)} certificate(s) or key(s) for {member_id} "
            "that this node does not hold; "
            "confirm with `credgate keys confirm` if the rotation is yours"
        )


@app.command("confirm")
def confirm(
    config: ConfigOption,
    fingerprint: Annotated[
        str, typer.Option(help="SHA-256 fingerprint (hex) of the certificate to confirm.")
    ],
) -> None:
    """Confirm, with this node's log key, that a new certificate (and its log key) for this member is ours."""
    settings = Settings.from_file(config)
    identity = TLSIdentity.from_settings(settings.tls)
    member_id = identity.own.member_id
    log_key = load_or_create_log_key(settings.data_dir / "keys")
    store = open_store(settings.store_url)
    try:
        entries = [decode_entry(data) for data in KeyLog(store).entries()]
    finally:
        store.close()
    if not any(e["type"] == "certificate" and e.get("fingerprint") == fingerprint for e in entries):
        raise NotFoundError(f"the key log holds no certificate with fingerprint {fingerprint}")
    keys = [e for e in entries if e["type"] == "keys" and e.get("certificate_fingerprint") == fingerprint]
    new_key = base64.b64decode(keys[-1]["log_key"]) if keys else log_key.public_key
    entry = confirmation_entry(member_id, fingerprint, new_key, previous_key=log_key)
    address = bureau_address(settings)
    channel = open_channel(identity, address, peer_member_id=settings.bureau_member_id, egress=None)
    try:
        index = TransparencyClient(channel, address=address).confirm_rotation(encode_entry(entry))
    finally:
        channel.close()
    store = open_store(settings.store_url)
    try:  # the confirmation is a decision of this member's own, in its witnessed audit log
        AuditLog(store).append(
            actor_member_id=member_id,
            actor_role=identity.own.role.value,
            action="transparency.key_confirmed",
            resource=member_id,
            decision=AuditDecision.ALLOW,
            reason="operator",
            correlation_id=f"keylog-{index}",
            details={"fingerprint": fingerprint, "leaf_index": index},
            at=system_clock(),
        )
    finally:
        store.close()
    _console.print(f"confirmed certificate {fingerprint[:16]}… for {member_id} (key-log leaf {index})")


def _detail(entry: dict[str, object]) -> str:
    kind = entry["type"]
    if kind == "certificate":
        fingerprint = str(entry["fingerprint"])[:12]
        until = str(entry["not_after"])[:10]
        return f"{entry['role']} serial {entry['serial']} fp {fingerprint} until {until}"
    if kind == "revocation":
        return f"serial {entry['serial']} at {str(entry['revoked_at'])[:19]}"
    if kind == "keys":
        bundle = "HPKE+mask+log key" if "bundle" in entry else "log key"
        return f"{bundle} under fp {str(entry['certificate_fingerprint'])[:12]}"
    return f"confirms fp {str(entry.get('certificate_fingerprint'))[:12]}"


def _status(entry: dict[str, object], state: MemberKeyState | None, index: int) -> str:
    if state is None:
        return "-"
    if entry["type"] == "certificate":
        certificate = state.certificate(str(entry["fingerprint"]))
        return "-" if certificate is None else certificate.status.replace("_", " ")
    if entry["type"] == "keys":
        if index in state.pending_keys:
            return "pending confirmation"
        return "accepted" if index in state.accepted_keys.values() else "superseded"
    return ""


def _alerts(state: MemberKeyState | None, own_fingerprint: str) -> list[str]:
    if state is None:
        return []
    alerts = []
    for certificate in state.certificates.values():
        if certificate.status == PENDING and certificate.fingerprint != own_fingerprint:
            alerts.append(
                f"certificate serial {certificate.serial} (leaf {certificate.leaf_index}) for this member "
                "awaits confirmation; this node holds another"
            )
    return alerts


def register(root: typer.Typer) -> None:
    """Add the ``keys`` command group to ``root``."""
    root.add_typer(app, name="keys")
