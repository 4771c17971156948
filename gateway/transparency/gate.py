"""The key-log gate: a member accepts a peer's certificate and keys only through a trusted checkpoint.

A key-log checkpoint is *trusted* by a member when the member co-signed it itself and it
carries valid co-signatures from at least ``trusted_cosignatures`` distinct members
(``policies/transparency.toml``; all of them while the log holds fewer). A peer's
certificate and key bundle, as the bureau's directory relays them, are accepted when

1. the certificate and the keys are leaves of the member's mirror of the key log below the
   trusted size, each with an inclusion proof (RFC 9162 §2.1.3.2) into the trusted root;
2. replaying the log accepts them (:func:`gateway.transparency.keylog.replay`): the first
   certificate of a member id, or a later one its owner confirmed, not revoked;
3. the role the directory states is the role in the logged certificate.

:class:`KeyLogGate` reads everything from the member's store, which the node's witness agent
keeps up to date, so the member's command-line tools use it too.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass

from gateway.bureau import MemberView
from gateway.clock import Clock
from gateway.crypto.bundle import KeyBundle
from gateway.crypto.errors import KeyBundleError
from gateway.errors import GatewayError
from gateway.store.database import Store
from gateway.tlog.checkpoints import CheckpointStore, Publication
from gateway.tlog.errors import NoteError
from gateway.tlog.keys import KEY_LOG_ORIGIN, witness_name
from gateway.tlog.merkle import leaf_hash, verify_inclusion
from gateway.tlog.note import COSIGNATURE_TYPE, Checkpoint, NoteVerifier, verify_cosignature
from gateway.tlog.tree import SqlTree
from gateway.transparency.bureau import KeyLog
from gateway.transparency.keylog import ACCEPTED, KEY_LOG, MemberKeyState, decode_entry, fingerprint, replay
from gateway.transparency.settings import TransparencySettings

__all__ = [
    "GateWitness",
    "KeyLogGate",
    "PeerKeyRefused",
    "TrustedKeyLog",
    "count_cosigners",
    "witness_verifier",
]


_CANDIDATES = 16


class PeerKeyRefused(GatewayError):
    """A peer's certificate or keys are not (yet) in a trusted key-log checkpoint.

    ``transient`` is true when waiting may help (the keys are newer than the trusted
    checkpoint); false when the owner must act (an unconfirmed second certificate).
    """

    reason = "peer_key_not_logged"

    def __init__(self, message: str, *, member_id: str, transient: bool) -> None:
        super().__init__(message)
        self.member_id = member_id
        self.transient = transient


@dataclass(frozen=True)
class TrustedKeyLog:
    """The trusted checkpoint, the mirrored leaves below it and what they say about each member."""

    checkpoint: Checkpoint
    publication: Publication
    entries: list[bytes]
    states: dict[str, MemberKeyState]
    cosigners: list[str]


def count_cosigners(
    publication: Publication, states: dict[str, MemberKeyState], *, exclude: str
) -> list[str]:
    """Members (other than ``exclude``, the log's owner) whose co-signature on it verifies."""
    found: list[str] = []
    for member_id, state in sorted(states.items()):
        if member_id == exclude or state.statement is None:
            continue
        verifier = witness_verifier(state)
        for line in publication.note.signatures:
            if line.name == verifier.name and line.key_id == verifier.key_id:
                try:
                    verify_cosignature(publication.note.text, line, verifier)
                except NoteError:
                    continue
                found.append(member_id)
                break
    return found


def witness_verifier(state: MemberKeyState) -> NoteVerifier:
    """Verifies co-signatures by the member ``state`` describes (its accepted log key)."""
    assert state.statement is not None
    return NoteVerifier(witness_name(state.member_id), state.statement.public_key, COSIGNATURE_TYPE)


class KeyLogGate:
    """Decides whether a peer's relayed certificate and keys may be used (see module docstring).

    Parameters
    ----------
    store
        The member's store (mirror, checkpoints, witness state).
    ca_certificate_pem
        The consortium CA: every certificate and signature in the log is checked against it.
    bureau_member_id
        The key log's owner, whose own co-signature does not count.
    settings
        The transparency policy (trust threshold).
    clock
        Current UTC time.

    """

    def __init__(
        self,
        store: Store,
        *,
        ca_certificate_pem: bytes,
        bureau_member_id: str,
        settings: TransparencySettings,
        clock: Clock,
    ) -> None:
        self._store = store
        self._ca_pem = ca_certificate_pem
        self._bureau = bureau_member_id
        self._settings = settings
        self._checkpoints = CheckpointStore(store, clock=clock)
        self._key_log = KeyLog(store)
        self._tree = SqlTree(KEY_LOG)
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, str], TrustedKeyLog | None] | None = None

    def trusted(self) -> TrustedKeyLog | None:
        """The largest key-log checkpoint this member co-signed with enough co-signers, or ``None``."""
        witnessed = self._checkpoints.witnessed(KEY_LOG_ORIGIN)
        if witnessed is None:
            return None
        # The newest few co-signed heads suffice: trust moves forward with the witnesses.
        candidates = self._checkpoints.up_to(KEY_LOG_ORIGIN, witnessed.size, limit=_CANDIDATES)
        cache_key = (witnessed.size, "".join(p.note.render() for p in candidates[-3:]))
        with self._lock:
            if self._cached is not None and self._cached[0] == cache_key:
                return self._cached[1]
        found: TrustedKeyLog | None = None
        all_entries = self._key_log.entries(0, witnessed.size)
        for publication in reversed(candidates):
            checkpoint = publication.checkpoint
            entries = all_entries[: checkpoint.size]
            states = replay(entries, ca_certificate_pem=self._ca_pem)
            cosigners = count_cosigners(publication, states, exclude=self._bureau)
            members = [m for m, s in states.items() if m != self._bureau and s.statement is not None]
            needed = min(self._settings.trusted_cosignatures, max(len(members), 1))
            if len(cosigners) >= needed:
                found = TrustedKeyLog(checkpoint, publication, entries, states, cosigners)
                break
        with self._lock:
            self._cached = (cache_key, found)
        return found

    def check(self, view: MemberView) -> None:
        """Accept ``view``'s certificate and key bundle, as the bureau's directory relays them, or raise.

        Raises
        ------
        PeerKeyRefused
            When they are not in a trusted checkpoint (``transient``), or the log does not
            accept them (unconfirmed, revoked, another role).

        """
        if view.keys is None:
            raise PeerKeyRefused(
                f"{view.member_id} published no keys", member_id=view.member_id, transient=True
            )
        bundle = KeyBundle(
            view.member_id, view.keys.hpke_public_key, view.keys.mask_public_key, view.keys.created_at
        )
        self.check_published(
            view.member_id, view.keys.certificate_der, bundle, view.keys.signature, role=view.role.value
        )

    def check_published(
        self,
        member_id: str,
        certificate_der: bytes,
        bundle: KeyBundle,
        signature: bytes,
        *,
        role: str | None = None,
    ) -> None:
        """Accept a peer's certificate and signed key bundle, or raise (see :meth:`check`).

        ``role``, when given, must be the role in the logged certificate.

        Raises
        ------
        PeerKeyRefused
            As :meth:`check`.

        """
        trusted = self.trusted()
        if trusted is None:
            raise PeerKeyRefused(
                "no trusted key-log checkpoint yet (not enough co-signatures)",
                member_id=member_id,
                transient=True,
            )
        state = trusted.states.get(member_id)
        certificate_fp = fingerprint(certificate_der)
        certificate = None if state is None else state.certificate(certificate_fp)
        if state is None or certificate is None:
            raise PeerKeyRefused(
                f"certificate of {member_id} is not in the trusted key log yet",
                member_id=member_id,
                transient=True,
            )
        if certificate.status != ACCEPTED:
            raise PeerKeyRefused(
                f"certificate {certificate.serial} of {member_id} is {certificate.status.replace('_', ' ')}",
                member_id=member_id,
                transient=False,
            )
        if role is not None and certificate.role != role:
            raise PeerKeyRefused(
                f"{member_id}'s certificate says {certificate.role!r}, the directory says {role!r}",
                member_id=member_id,
                transient=False,
            )
        keys_index = self._keys_leaf(trusted, state, member_id, bundle, signature, certificate_fp)
        for index in (certificate.leaf_index, keys_index):
            proof = self._inclusion_proof(index, trusted.checkpoint.size)
            verify_inclusion(
                index,
                trusted.checkpoint.size,
                leaf_hash(trusted.entries[index]),
                proof,
                trusted.checkpoint.root,
            )

    def _keys_leaf(
        self,
        trusted: TrustedKeyLog,
        state: MemberKeyState,
        member_id: str,
        bundle: KeyBundle,
        signature: bytes,
        certificate_fp: str,
    ) -> int:
        wanted = (
            base64.b64encode(bundle.to_bytes()).decode("ascii"),
            base64.b64encode(signature).decode("ascii"),
        )
        for index in sorted(set(state.accepted_keys.values()) | set(state.statements), reverse=True):
            entry = decode_entry(trusted.entries[index])
            if (entry.get("bundle"), entry.get("bundle_signature")) != wanted:
                continue
            if entry["certificate_fingerprint"] != certificate_fp:
                continue
            if index in state.pending_keys:
                raise PeerKeyRefused(
                    f"keys of {member_id} changed log key and await the owner's confirmation",
                    member_id=member_id,
                    transient=False,
                )
            return index
        raise PeerKeyRefused(
            f"key bundle of {member_id} is not in the trusted key log yet",
            member_id=member_id,
            transient=True,
        )

    def _inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._store.transaction() as session:
            return self._tree.inclusion_proof(session, index, size)


class GateWitness:
    """The gate in the shape of the pin store's ``KeyLogWitness`` hook (issue #11, ``gateway/node/pins.py``).

    ``check`` raises :class:`~gateway.crypto.errors.KeyBundleError` (the hook's refusal), with the
    gate's reason chained, when the gate refuses.
    """

    def __init__(self, gate: KeyLogGate) -> None:
        self._gate = gate

    def check(self, member_id: str, certificate_der: bytes, bundle: KeyBundle, signature: bytes) -> None:
        """Refuse a certificate and bundle that are not in a trusted key-log checkpoint."""
        try:
            self._gate.check_published(member_id, certificate_der, bundle, signature)
        except PeerKeyRefused as exc:
            raise KeyBundleError(member_id) from exc
