"""The pin store: the one place a member accepts another node's certificate and keys.

The bureau relays every member's certificate and signed key bundle; it runs the CA and
routes everything, so a member trusts what it relays only under these rules:

1. The bundle verifies against the consortium CA (issued directly, valid now, not revoked,
   naming the bundle's member id, signed by the certificate's key). A bundle that fails
   leaves that member out (logged and audited); it never stops the others' checks.
2. The role is the certificate's, never the directory's.
3. First use: the consortium key log (``gate``, issue #12) must hold the certificate and
   keys below a checkpoint this member trusts; then they are pinned in the member's store.
4. Same certificate, different keys with a later ``created_at``: a key rotation signed by
   the pinned certificate's key, which the bureau cannot forge, and in the key log; the
   pin moves and the rotation is audited. An older or equal time is a rollback:
   refused, the pin stays.
5. A different certificate for a pinned member (a renewal, or a certificate the bureau
   minted) is never used silently: it is held as a candidate, audited as an alert, and the
   old pin stays in use while its certificate is valid. ``credgate peers accept`` makes the
   candidate the pin (verified again, audited).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.bureau import MemberView
from gateway.crypto.bundle import KeyBundle, VerifiedKeyBundle, verify_bundle
from gateway.crypto.errors import KeyBundleError
from gateway.errors import GatewayError, NotFoundError, StoreError
from gateway.identity.tls import TLSIdentity
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.models import PeerPin, PeerPinCandidate
from gateway.store.repositories.members import PublishedKeys
from gateway.transparency.gate import PeerKeyRefused

__all__ = ["PeerGate", "PeerKeys", "PinStore"]

_LOG = logging.getLogger(__name__)
_TRUST_POLL_SECONDS = 0.25
PIN_ACTION = "peers.pin"


@dataclass(frozen=True)
class PeerKeys:
    """One member's pinned, verified keys and the role its certificate names."""

    member_id: str
    role: Role
    bundle: VerifiedKeyBundle
    certificate_der: bytes


class PeerGate(Protocol):
    """Decides whether a relayed certificate and bundle may be used (``KeyLogGate.check``, issue #12)."""

    def check(self, view: MemberView) -> None:
        """Raise :class:`PeerKeyRefused` unless ``view``'s keys are in a trusted key-log checkpoint."""


class PinStore:
    """Verified, pinned peer keys, refreshed from the bureau's directory.

    Parameters
    ----------
    store
        This member's store (``peer_pins``, ``peer_pin_candidates``).
    identity
        This node's TLS material: the CA is the trust anchor, its CRL the revocation list.
    fetch_directory
        Returns the directory as the bureau relays it.
    clock
        Current UTC time.
    audit
        Where pins, rotations, refusals and held certificate changes are recorded.
    gate
        The consortium key log's check (``KeyLogGate``), run on every directory entry before
        the pinning rules: keys not yet in a trusted checkpoint are waited for up to
        ``trust_wait``, refused ones are left out.
    max_age
        How long a fetched directory is reused by :meth:`all_members`.

    """

    def __init__(
        self,
        store: Store,
        identity: TLSIdentity,
        fetch_directory: Callable[[], Iterable[MemberView]],
        *,
        clock: Callable[[], dt.datetime],
        audit: AuditRecorder,
        gate: PeerGate | None = None,
        trust_wait: dt.timedelta = dt.timedelta(0),
        max_age: dt.timedelta = dt.timedelta(seconds=30),
    ) -> None:
        self._gate = gate
        self._trust_wait = trust_wait
        self._refused: dict[str, GatewayError] = {}
        self._store = store
        self._identity = identity
        self._fetch = fetch_directory
        self._clock = clock
        self._audit = audit
        self._max_age = max_age
        self._lock = threading.Lock()
        self._peers: dict[str, PeerKeys] = {}
        self._fetched_at: dt.datetime | None = None

    def get(self, member_ids: Iterable[str]) -> dict[str, PeerKeys]:
        """Pinned keys of ``member_ids``; refresh once if some are unknown.

        Raises
        ------
        NotFoundError
            When a member has no usable pin (unknown, refused or revoked).

        """
        wanted = list(member_ids)
        with self._lock:
            if any(member_id not in self._peers for member_id in wanted):
                self._refresh()
                self._wait_for_trust(wanted)
            missing = sorted(member_id for member_id in wanted if member_id not in self._peers)
            if missing:
                reasons = "; ".join(self._refused[m].message for m in missing if m in self._refused)
                because = f" ({reasons})" if reasons else ""
                raise NotFoundError(f"no pinned, verified key bundle for {', '.join(missing)}{because}")
            return {member_id: self._peers[member_id] for member_id in wanted}

    def _wait_for_trust(self, wanted: list[str]) -> None:
        """New keys reach a trusted key-log checkpoint within a few checkpoint intervals: wait a little."""
        deadline = time.monotonic() + self._trust_wait.total_seconds()
        while time.monotonic() < deadline:
            refusals = [self._refused.get(m) for m in wanted if m not in self._peers]
            if not refusals or not all(isinstance(r, PeerKeyRefused) and r.transient for r in refusals):
                return
            time.sleep(_TRUST_POLL_SECONDS)
            self._refresh()

    def all_members(self) -> dict[str, PeerKeys]:
        """Every member with a usable pin, from a directory at most ``max_age`` old."""
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
                self._refresh()
                self._wait_for_trust(list(self._refused))
            return dict(self._peers)

    def refresh(self) -> dict[str, PeerKeys]:
        """Fetch the directory now and return every usable pin."""
        with self._lock:
            self._refresh()
            return dict(self._peers)

    def accept_candidate(self, member_id: str) -> PeerKeys:
        """Make the held certificate of ``member_id`` its pin (an operator's explicit decision).

        Raises
        ------
        NotFoundError
            When no candidate is held for that member.
        KeyBundleError
            When the candidate no longer verifies or the key log refuses it.

        """
        with self._lock, self._store.transaction() as session:
            candidate = session.get(PeerPinCandidate, member_id)
            if candidate is None:
                raise NotFoundError(f"no held certificate change for {member_id!r}")
            keys = _published(candidate)
            peer = self._verify(member_id, keys)
            self._write_pin(session, peer, keys)
            session.delete(candidate)
            self._peers[member_id] = peer
        self._record(
            "accepted_certificate_change", member_id, Outcome.ALLOW, peer.bundle.certificate_fingerprint
        )
        return peer

    def _refresh(self) -> None:
        peers: dict[str, PeerKeys] = {}
        self._refused = {}
        for view in self._fetch():
            if view.keys is None:
                continue
            if self._gate is not None:
                # Issue #12: only keys in a key-log checkpoint this member co-signed.
                try:
                    self._gate.check(view)
                except PeerKeyRefused as exc:
                    self._refused[view.member_id] = exc
                    if not exc.transient:
                        _LOG.warning("leaving %s out: %s", view.member_id, exc.message)
                    continue
            try:
                try:
                    found = self._accept(view.member_id, view.keys)
                except StoreError:
                    # Another process of this member pinned it at the same moment: read its pin.
                    found = self._accept(view.member_id, view.keys)
            except KeyBundleError as exc:
                _LOG.warning(
                    "left out %s: its key bundle does not verify (%s)", view.member_id, exc.__cause__
                )
                self._record("refused_bundle", view.member_id, Outcome.DENY, "verification_failed")
                continue
            if found is not None:
                peers[view.member_id] = found
        self._peers = peers
        self._fetched_at = self._clock()

    def _verify(self, member_id: str, keys: _Keys) -> PeerKeys:
        bundle = KeyBundle(member_id, keys.hpke_public_key, keys.mask_public_key, keys.keys_created_at)
        pem = ssl.DER_cert_to_PEM_cert(keys.certificate_der).encode("ascii")
        verified = verify_bundle(
            bundle,
            keys.keys_signature,
            pem,
            ca_certificate_pem=self._identity.ca_pem,
            revocation=self._identity.revocations,
            now=self._clock(),
        )
        return PeerKeys(member_id, verified.role, verified, keys.certificate_der)

    def _accept(self, member_id: str, published: PublishedKeys) -> PeerKeys | None:
        """Apply the pinning rules to one directory entry; return the keys to use, if any."""
        offered = _Keys.from_published(published)
        peer = self._verify(member_id, offered)
        with self._store.transaction() as session:
            pin = session.get(PeerPin, member_id)
            if pin is None:
                self._write_pin(session, peer, offered)
                event = ("pinned", Outcome.ALLOW)
            elif pin.cert_fingerprint == peer.bundle.certificate_fingerprint:
                if _same_keys(pin, offered):
                    return peer
                if offered.keys_created_at <= pin.keys_created_at:
                    self._record("refused_key_rollback", member_id, Outcome.DENY, "older_bundle")
                    return self._pinned(pin)
                self._write_pin(session, peer, offered)
                event = ("rotated_keys", Outcome.ALLOW)
            else:
                self._hold(session, member_id, offered)
                _LOG.warning(
                    "ALERT: %s presents a different certificate than the pinned one; held until "
                    "`credgate peers accept --member %s`",
                    member_id,
                    member_id,
                )
                self._record(
                    "held_certificate_change", member_id, Outcome.DENY, peer.bundle.certificate_fingerprint
                )
                return self._pinned(pin)
        self._record(event[0], member_id, event[1], peer.bundle.certificate_fingerprint)
        return peer

    def _pinned(self, pin: PeerPin) -> PeerKeys | None:
        """The pinned keys, re-verified now (a revoked or expired pin leaves the member out)."""
        try:
            return self._verify(pin.member_id, _Keys.from_pin(pin))
        except KeyBundleError:
            self._record("refused_pin", pin.member_id, Outcome.DENY, "pinned_certificate_invalid")
            return None

    def _write_pin(self, session: sa.orm.Session, peer: PeerKeys, keys: _Keys) -> None:
        pin = session.get(PeerPin, peer.member_id) or PeerPin(member_id=peer.member_id)
        pin.role = peer.role
        _copy_keys(pin, keys)
        pin.pinned_at = self._clock()
        session.add(pin)

    def _hold(self, session: sa.orm.Session, member_id: str, keys: _Keys) -> None:
        candidate = session.get(PeerPinCandidate, member_id) or PeerPinCandidate(member_id=member_id)
        _copy_keys(candidate, keys)
        candidate.seen_at = self._clock()
        session.add(candidate)

    def _record(self, event: str, member_id: str, outcome: Outcome, reason: str) -> None:
        self._audit.record(
            AuditEvent.for_peer(
                self._identity.own,
                action=f"{PIN_ACTION}.{event}",
                outcome=outcome,
                reason=reason,
                correlation_id=uuid.uuid4().hex,
                details={"member": member_id},
            )
        )


@dataclass(frozen=True)
class _Keys:
    certificate_der: bytes
    hpke_public_key: bytes
    mask_public_key: bytes
    keys_created_at: dt.datetime
    keys_signature: bytes

    @classmethod
    def from_published(cls, keys: PublishedKeys) -> _Keys:
        return cls(
            keys.certificate_der, keys.hpke_public_key, keys.mask_public_key, keys.created_at, keys.signature
        )

    @classmethod
    def from_pin(cls, pin: PeerPin | PeerPinCandidate) -> _Keys:
        return cls(
            pin.certificate_der,
            pin.hpke_public_key,
            pin.mask_public_key,
            pin.keys_created_at,
            pin.keys_signature,
        )


def _copy_keys(row: PeerPin | PeerPinCandidate, keys: _Keys) -> None:
    row.cert_fingerprint = _fingerprint(keys.certificate_der)
    row.certificate_der = keys.certificate_der
    row.hpke_public_key = keys.hpke_public_key
    row.mask_public_key = keys.mask_public_key
    row.keys_created_at = keys.keys_created_at
    row.keys_signature = keys.keys_signature


def _published(candidate: PeerPinCandidate) -> _Keys:
    return _Keys.from_pin(candidate)


def _same_keys(pin: PeerPin, keys: _Keys) -> bool:
    # A restart re-signs the same keys with a new time: that is not a rotation.
    return pin.hpke_public_key == keys.hpke_public_key and pin.mask_public_key == keys.mask_public_key


def _fingerprint(certificate_der: bytes) -> str:
    return hashlib.sha256(certificate_der).hexdigest()
