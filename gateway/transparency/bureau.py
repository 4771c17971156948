"""The bureau's part: the consortium key log, and the relay of every log's checkpoints.

The bureau appends to the key log every certificate in the CA's register (issued and
revoked, read from ``[ca] dir``), every certificate a node registers with, every node's keys
and every member's rotation confirmation. It signs checkpoints of the key log and of its own
audit log, and relays the members' publications and co-signatures. It verifies nothing on
the members' behalf: the witnesses do (signatures make relaying safe). It only refuses what
is plainly not the caller's: a checkpoint of another node's log, a co-signature under
another witness's name, a confirmation for another member.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from gateway.clock import Clock
from gateway.crypto.bundle import KeyBundle
from gateway.crypto.ed25519 import Ed25519Key
from gateway.errors import InvalidInputError
from gateway.identity.ca.authority import CertificateAuthority
from gateway.identity.peer import Peer
from gateway.store.database import Store
from gateway.store.models import TlogEntry
from gateway.store.repositories.audit import AUDIT_LOG, build_tree
from gateway.tlog.checkpoints import CheckpointStore, Publication
from gateway.tlog.errors import NoteError
from gateway.tlog.keys import KEY_LOG_ORIGIN, LogKeyStatement, audit_origin, witness_name
from gateway.tlog.merkle import leaf_hash
from gateway.tlog.note import SignatureLine
from gateway.tlog.tree import SqlTree
from gateway.transparency.keylog import (
    KEY_LOG,
    KeyLogEntry,
    certificate_entry,
    decode_entry,
    encode_entry,
    fingerprint,
    keys_entry,
    revocation_entry,
)
from gateway.transparency.publisher import LogPublisher

__all__ = ["BureauTransparency", "KeyLog", "RegisteredKeys"]

_LOG = logging.getLogger(__name__)
MAX_ENTRIES_PER_CALL = 1000
MAX_PUBLICATIONS_PER_LOG = 256
CONFLICTING = "conflicting_publication"
"""A publication contradicting one the bureau holds: kept and relayed, for the witnesses to judge."""


class KeyLog:
    """The consortium key log in the bureau's store (``tlog_entries`` + ``tlog_nodes``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._tree = SqlTree(KEY_LOG)
        self._lock = threading.Lock()

    @property
    def tree(self) -> SqlTree:
        """The log's Merkle tree."""
        return self._tree

    def append(self, entries: Sequence[KeyLogEntry]) -> list[int]:
        """Append ``entries`` that are not already in the log; return their leaf indices."""
        added: list[int] = []
        with self._lock, self._store.transaction() as session:
            self._tree.lock(session)
            held = {
                bytes(data)
                for data in session.scalars(sa.select(TlogEntry.data).where(TlogEntry.log == KEY_LOG))
            }
            fresh = [encode_entry(entry) for entry in entries]
            fresh = [data for i, data in enumerate(fresh) if data not in held and data not in fresh[:i]]
            if not fresh:
                return added
            first = self._tree.append(session, [leaf_hash(data) for data in fresh])
            for offset, data in enumerate(fresh):
                session.add(TlogEntry(log=KEY_LOG, idx=first + offset, data=data))
                added.append(first + offset)
        return added

    def append_raw(self, entries: Sequence[bytes]) -> None:
        """Append leaves exactly as given (a member's mirror copies the bureau's log leaf by leaf)."""
        with self._lock, self._store.transaction() as session:
            self._tree.lock(session)
            first = self._tree.append(session, [leaf_hash(data) for data in entries])
            for offset, data in enumerate(entries):
                session.add(TlogEntry(log=KEY_LOG, idx=first + offset, data=data))

    def size(self) -> int:
        """Number of leaves."""
        with self._store.transaction() as session:
            return self._tree.size(session)

    def entries(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """Leaves ``[start, end)`` in order."""
        query = sa.select(TlogEntry.data).where(TlogEntry.log == KEY_LOG, TlogEntry.idx >= start)
        if end is not None:
            query = query.where(TlogEntry.idx < end)
        with self._store.transaction() as session:
            return [bytes(data) for data in session.scalars(query.order_by(TlogEntry.idx))]

    def logged(self, kind: str) -> list[KeyLogEntry]:
        """Every leaf of one type, in order."""
        return [entry for entry in map(decode_entry, self.entries()) if entry["type"] == kind]


@dataclass(frozen=True)
class RegisteredKeys:
    """What a node registers with: its certificate, log key statement and (members) key bundle."""

    certificate_der: bytes
    statement: LogKeyStatement
    bundle: KeyBundle | None = None
    bundle_signature: bytes = b""


class BureauTransparency:
    """Key log, checkpoint relay and the bureau's own checkpoints.

    Parameters
    ----------
    store
        The bureau's store.
    identity_cert_pem, identity_key_pem
        The bureau's certificate and key: they vouch for its log key.
    log_key
        The bureau's Ed25519 log key.
    ca_dir
        The CA folder to copy issued and revoked certificates from (``None``: not synced).
    clock
        Current UTC time.

    """

    def __init__(
        self,
        store: Store,
        *,
        member_id: str,
        identity_cert_pem: bytes,
        identity_key_pem: bytes,
        log_key: Ed25519Key,
        ca_dir: Path | None,
        clock: Clock,
    ) -> None:
        self.key_log = KeyLog(store)
        self.checkpoints = CheckpointStore(store, clock=clock)
        self._member_id = member_id
        self._ca_dir = ca_dir
        self._clock = clock
        self.statement = LogKeyStatement.create(
            member_id,
            log_key.public_key,
            certificate_pem=identity_cert_pem,
            tls_private_key_pem=identity_key_pem,
        )
        self._own_certificate = ssl.PEM_cert_to_DER_cert(identity_cert_pem.decode("ascii"))
        self._publishers = (
            LogPublisher(
                store, self.key_log.tree, origin=KEY_LOG_ORIGIN, key=log_key, checkpoints=self.checkpoints
            ),
            LogPublisher(
                store,
                SqlTree(AUDIT_LOG),
                origin=audit_origin(member_id),
                key=log_key,
                checkpoints=self.checkpoints,
                prepare=build_tree,
            ),
        )

    def tick(self) -> None:
        """Copy the CA's register into the key log, then sign checkpoints of both logs if they grew."""
        entries: list[KeyLogEntry] = [certificate_entry(self._own_certificate), keys_entry(self.statement)]
        entries += self._ca_entries()
        added = self.key_log.append(entries)
        if added:
            _LOG.info("key log: %d new leaves (now %d)", len(added), added[-1] + 1)
        for publisher in self._publishers:
            publisher.publish()

    def _ca_entries(self) -> list[KeyLogEntry]:
        if self._ca_dir is None:
            return []
        authority = CertificateAuthority.load(self._ca_dir)
        entries: list[KeyLogEntry] = []
        for issued in authority.issued():
            path = authority.issued_certificate_path(issued.serial)
            if path.exists():
                entries.append(certificate_entry(ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii"))))
            if issued.revoked_at is not None:
                entries.append(revocation_entry(issued.member_id, issued.serial, issued.revoked_at))
        return entries

    def register(self, peer: Peer, keys: RegisteredKeys) -> None:
        """Log the certificate a node registered with and its keys (signatures are checked by readers).

        Raises
        ------
        InvalidInputError
            When the log key statement names another member than the caller's certificate.

        """
        if (
            keys.statement.member_id != peer.member_id
            or fingerprint(keys.certificate_der) != peer.fingerprint
        ):
            raise InvalidInputError("log key statement is not the caller's", field="log_key")
        self.key_log.append(
            [
                certificate_entry(keys.certificate_der),
                keys_entry(keys.statement, bundle=keys.bundle, bundle_signature=keys.bundle_signature),
            ]
        )

    def publish(self, peer: Peer, text: str) -> None:
        """Keep a node's publication of its own audit log for the witnesses.

        Raises
        ------
        InvalidInputError
            When it is malformed, of another node's log, or contradicts a held checkpoint.

        """
        try:
            publication = Publication.parse(text)
            checkpoint = publication.checkpoint
        except NoteError as exc:
            raise InvalidInputError(exc.message, field="publication") from exc
        if checkpoint.origin != audit_origin(peer.member_id):
            raise InvalidInputError(
                f"a node publishes its own log {audit_origin(peer.member_id)!r}, not {checkpoint.origin!r}",
                field="publication",
            )
        held = self.checkpoints.add(publication)
        if held.checkpoint.root != checkpoint.root:
            # Relay both: the witnesses judge (they hold the node's key and keep the evidence).
            _LOG.warning("%s published a second root for size %d", peer.member_id, checkpoint.size)
            self.checkpoints.add_evidence(
                checkpoint.origin, CONFLICTING, {"publication": publication.render()}
            )

    def publications(self, after: dict[str, int], *, only_listed: bool) -> list[Publication]:
        """Publications of each log after the named sizes; of other logs, the latest one."""
        found: list[Publication] = []
        conflicting: dict[str, list[Publication]] = {}
        for item in self.checkpoints.evidence():
            if item.kind == CONFLICTING:
                conflicting.setdefault(item.origin, []).append(
                    Publication.parse(str(item.evidence["publication"]))
                )
        for origin in self.checkpoints.origins():
            if origin in after:
                found += self.checkpoints.after(origin, after[origin], limit=MAX_PUBLICATIONS_PER_LOG)
            elif not only_listed:
                latest = self.checkpoints.latest(origin)
                found += [] if latest is None else [latest]
            else:
                continue
            found += conflicting.get(origin, [])
        return found

    def add_cosignatures(self, peer: Peer, cosignatures: Sequence[tuple[str, int, str]]) -> None:
        """Relay a witness's co-signature lines; each must be under the caller's own witness name.

        Raises
        ------
        InvalidInputError
            When a line is malformed or under another witness's name.

        """
        for origin, size, text in cosignatures:
            try:
                line = SignatureLine.parse(text.rstrip("\n"))
            except NoteError as exc:
                raise InvalidInputError(exc.message, field="cosignatures") from exc
            if line.name != witness_name(peer.member_id):
                raise InvalidInputError(
                    f"{peer.member_id} co-signs as {witness_name(peer.member_id)!r}, not {line.name!r}",
                    field="cosignatures",
                )
            self.checkpoints.add_signatures(origin, size, [line])

    def confirm_rotation(self, peer: Peer, statement: bytes) -> int:
        """Log a member's rotation confirmation (its signature is checked by every reader).

        Raises
        ------
        InvalidInputError
            When it is not a confirmation by the caller.

        """
        entry = decode_entry(statement)
        if entry.get("type") != "confirmation" or entry.get("member_id") != peer.member_id:
            raise InvalidInputError("expected a rotation confirmation by the caller", field="statement")
        added = self.key_log.append([entry])
        return added[0] if added else -1

    def now(self) -> dt.datetime:
        """The bureau's clock."""
        return self._clock()
