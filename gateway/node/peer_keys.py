"""Verified public keys of the other consortium members, fetched from the bureau's directory.

The bureau relays each member's certificate and signed key bundle; this cache
verifies every bundle against the consortium CA before any key is used, so the
bureau cannot substitute a key of its own (ARCHITECTURE §2, threat model). With a
key-log gate (``gateway.transparency.gate``), a certificate and bundle are used only
when they are leaves of a key-log checkpoint this member co-signed with enough other
members, so a second certificate the CA issued for a member id is refused until its
owner confirms it; a refused member is left out.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from gateway.bureau import MemberView
from gateway.crypto.bundle import KeyBundle, VerifiedKeyBundle, verify_bundle
from gateway.errors import GatewayError, NotFoundError
from gateway.identity.tls import TLSIdentity
from gateway.roles import Role
from gateway.transparency.gate import PeerKeyRefused

_LOG = logging.getLogger(__name__)
_TRUST_POLL_SECONDS = 0.25


class PeerGate(Protocol):
    """Decides whether a relayed certificate and bundle may be used (``KeyLogGate.check``)."""

    def check(self, view: MemberView) -> None:
        """Raise :class:`PeerKeyRefused` unless ``view``'s keys are in a trusted key-log checkpoint."""


@dataclass(frozen=True)
class PeerKeys:
    """One member's verified keys and role."""

    member_id: str
    role: Role
    bundle: VerifiedKeyBundle


class PeerKeyCache:
    """Verified peer keys, refreshed from the directory when an unknown member is asked for.

    Parameters
    ----------
    identity
        This node's TLS material: its CA is the trust anchor, its CRL the revocation list.
    fetch_directory
        Returns the directory as this node may see it (``BureauClient.directory``).
    clock
        Current UTC time, for certificate validity.

    """

    def __init__(
        self,
        identity: TLSIdentity,
        fetch_directory: Callable[[], Iterable[MemberView]],
        *,
        clock: Callable[[], dt.datetime],
        max_age: dt.timedelta = dt.timedelta(seconds=30),
        gate: PeerGate | None = None,
        trust_wait: dt.timedelta = dt.timedelta(0),
    ) -> None:
        self._gate = gate
        self._trust_wait = trust_wait
        self._refused: dict[str, GatewayError] = {}
        self._identity = identity
        self._fetch = fetch_directory
        self._clock = clock
        self._lock = threading.Lock()
        self._peers: dict[str, PeerKeys] = {}
        self._max_age = max_age
        self._fetched_at: dt.datetime | None = None

    def get(self, member_ids: Iterable[str]) -> dict[str, PeerKeys]:
        """Verified keys of ``member_ids``; refresh once if some are unknown.

        Raises
        ------
        NotFoundError
            When a member has no verifiable key bundle in the directory.

        """
        wanted = list(member_ids)
        with self._lock:
            if any(member_id not in self._peers for member_id in wanted):
                self._refresh()
            deadline = time.monotonic() + self._trust_wait.total_seconds()
            # New keys reach a trusted key-log checkpoint within a few checkpoint intervals.
            while self._waiting_for_trust(wanted) and time.monotonic() < deadline:
                time.sleep(_TRUST_POLL_SECONDS)
                self._refresh()
            missing = [member_id for member_id in wanted if member_id not in self._peers]
            if missing:
                reasons = "; ".join(self._refused[m].message for m in sorted(missing) if m in self._refused)
                raise NotFoundError(
                    f"no verified key bundle for {', '.join(sorted(missing))}"
                    + (f" ({reasons})" if reasons else "")
                )
            return {member_id: self._peers[member_id] for member_id in wanted}

    def _waiting_for_trust(self, wanted: list[str]) -> bool:
        refusals = [self._refused.get(m) for m in wanted if m not in self._peers]
        return bool(refusals) and all(isinstance(r, PeerKeyRefused) and r.transient for r in refusals)

    def all_members(self) -> dict[str, PeerKeys]:
        """Every member with a verified bundle, from a directory at most ``max_age`` old."""
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
                self._refresh()
                deadline = time.monotonic() + self._trust_wait.total_seconds()
                # Keys not yet in a trusted key-log checkpoint (a node just started): wait a little.
                while self._waiting_for_trust(list(self._refused)) and time.monotonic() < deadline:
                    time.sleep(_TRUST_POLL_SECONDS)
                    self._refresh()
            return dict(self._peers)

    def _refresh(self) -> None:
        now = self._clock()
        peers: dict[str, PeerKeys] = {}
        self._refused = {}
        for view in self._fetch():
            if view.keys is None:
                continue
            if self._gate is not None:
                try:
                    self._gate.check(view)
                except PeerKeyRefused as exc:
                    self._refused[view.member_id] = exc
                    if not exc.transient:
                        _LOG.warning("leaving %s out: %s", view.member_id, exc.message)
                    continue
            bundle = KeyBundle(
                view.member_id, view.keys.hpke_public_key, view.keys.mask_public_key, view.keys.created_at
            )
            certificate_pem = ssl.DER_cert_to_PEM_cert(view.keys.certificate_der).encode("ascii")
            verified = verify_bundle(
                bundle,
                view.keys.signature,
                certificate_pem,
                ca_certificate_pem=self._identity.ca_pem,
                revocation=self._identity.revocations,
                now=now,
            )
            peers[view.member_id] = PeerKeys(view.member_id, view.role, verified)
        self._peers = peers
        self._fetched_at = now
