"""Verified public keys of the other consortium members, fetched from the bureau's directory.

The bureau relays each member's certificate and signed key bundle; this cache
verifies every bundle against the consortium CA before any key is used, so the
bureau cannot substitute a key of its own (ARCHITECTURE §2, threat model).
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateway.bureau import MemberView
from gateway.crypto.bundle import KeyBundle, VerifiedKeyBundle, verify_bundle
from gateway.errors import NotFoundError
from gateway.identity.tls import TLSIdentity
from gateway.roles import Role


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
    ) -> None:
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
            missing = [member_id for member_id in wanted if member_id not in self._peers]
            if missing:
                raise NotFoundError(f"no verified key bundle for {', '.join(sorted(missing))}")
            return {member_id: self._peers[member_id] for member_id in wanted}

    def all_members(self) -> dict[str, PeerKeys]:
        """Every member with a verified bundle, from a directory at most ``max_age`` old."""
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at > self._max_age:
                self._refresh()
            return dict(self._peers)

    def _refresh(self) -> None:
        now = self._clock()
        peers: dict[str, PeerKeys] = {}
        for view in self._fetch():
            if view.keys is None:
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
