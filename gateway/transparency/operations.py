"""A node's audit-log checks as the operator runs them (``credgate audit``, the demo)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from gateway.clock import Clock
from gateway.config import Settings
from gateway.crypto.ed25519 import load_or_create_log_key
from gateway.errors import NotFoundError
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_client import bureau_address
from gateway.rpc.channel import open_channel
from gateway.store.database import open_store
from gateway.tlog.checkpoints import CheckpointStore, Publication, StoredEvidence
from gateway.tlog.keys import LogKeyStatement, audit_origin
from gateway.transparency.bureau import KeyLog
from gateway.transparency.client import TransparencyClient
from gateway.transparency.export import build_export
from gateway.transparency.gate import count_cosigners, witness_verifier
from gateway.transparency.keylog import MemberKeyState, replay
from gateway.transparency.verify import AuditVerification, verify_audit_log

__all__ = ["NodeVerification", "export_node_log", "verify_node_log"]


@dataclass(frozen=True)
class NodeVerification:
    """The node's verified log and the evidence its witness kept about others."""

    member_id: str
    result: AuditVerification
    evidence: list[StoredEvidence]


def own_statement(identity: TLSIdentity, public_key: bytes) -> LogKeyStatement:
    """The node's log key, vouched for by its certificate key."""
    return LogKeyStatement.create(
        identity.own.member_id,
        public_key,
        certificate_pem=identity.cert_pem,
        tls_private_key_pem=identity.key_pem,
    )


def verify_node_log(settings: Settings, *, clock: Clock, online: bool) -> NodeVerification:
    """Verify the node's audit log against its own, its witnesses' and (online) the bureau's checkpoints.

    Raises
    ------
    LogIntegrityError
        When the entries do not reproduce a signed or co-signed checkpoint.

    """
    identity = TLSIdentity.from_settings(settings.tls)
    member_id = identity.own.member_id
    statement = own_statement(identity, load_or_create_log_key(settings.data_dir / "keys").public_key)
    store = open_store(settings.store_url)
    try:
        checkpoints = CheckpointStore(store, clock=clock)
        publications = checkpoints.all(audit_origin(member_id))
        if online and settings.bureau_address is not None:
            publications += _relayed(settings, identity, audit_origin(member_id))
        states = replay(KeyLog(store).entries(), ca_certificate_pem=identity.ca_pem)
        witnesses = [
            witness_verifier(state)
            for other, state in states.items()
            if other not in (member_id, settings.bureau_member_id) and state.statement is not None
        ]
        key = statement.verify(ca_certificate_pem=identity.ca_pem, at=clock())
        result = verify_audit_log(
            store, log=key.audit_verifier, publications=publications, witnesses=witnesses
        )
        return NodeVerification(member_id, result, checkpoints.evidence())
    finally:
        store.close()


def export_node_log(
    settings: Settings,
    *,
    start: dt.datetime,
    end: dt.datetime,
    out: Path,
    min_cosignatures: int,
    clock: Clock,
) -> int:
    """Write the evidence bundle of ``[start, end)`` to ``out``; return how many later entries were left out.

    Raises
    ------
    NotFoundError
        When no own checkpoint carries ``min_cosignatures`` co-signatures yet.

    """
    identity = TLSIdentity.from_settings(settings.tls)
    member_id = identity.own.member_id
    log_key = load_or_create_log_key(settings.data_dir / "keys")
    store = open_store(settings.store_url)
    try:
        states = replay(KeyLog(store).entries(), ca_certificate_pem=identity.ca_pem)
        publications = CheckpointStore(store, clock=clock).all(audit_origin(member_id))
        anchor, cosigners = _anchor(publications, states, member_id, min_cosignatures)
        data, left_out = build_export(
            store,
            statement=own_statement(identity, log_key.public_key),
            log_key=log_key,
            anchor=anchor,
            cosigners=cosigners,
            ca_certificate_pem=identity.ca_pem,
            start=start,
            end=end,
            now=clock(),
        )
    finally:
        store.close()
    out.write_bytes(data)
    return left_out


def _relayed(settings: Settings, identity: TLSIdentity, origin: str) -> list[Publication]:
    """What the bureau relays for this log: the checkpoints the witnesses saw and co-signed."""
    address = bureau_address(settings)
    channel = open_channel(identity, address, peer_member_id=settings.bureau_member_id, egress=None)
    try:
        return TransparencyClient(channel, address=address).checkpoints({origin: 0}, only_listed=True)
    finally:
        channel.close()


def _anchor(
    publications: list[Publication], states: dict[str, MemberKeyState], member_id: str, minimum: int
) -> tuple[Publication, list[LogKeyStatement]]:
    """The largest own checkpoint with at least ``minimum`` valid co-signatures, and their statements."""
    for publication in reversed(publications):
        names = count_cosigners(publication, states, exclude=member_id)
        if len(names) >= minimum:
            statements = [states[name].statement for name in names]
            return publication, [s for s in statements if s is not None]
    raise NotFoundError(
        f"no checkpoint of {member_id}'s audit log carries {minimum} co-signatures yet "
        "(are the witnesses running?)"
    )
