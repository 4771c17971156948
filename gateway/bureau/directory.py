"""The consortium directory kept by the bureau: who is a member, in which role, where.

Members register with the identity and role of their certificate; the
directory never takes either from the request. Liveness (last heartbeat) is
shown only to viewers the policy allows (the bureau's own operators), because
which members are online must not be visible to members (ARCHITECTURE §6.1).
"""

from __future__ import annotations

import datetime as dt
import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography import x509

from gateway.crypto.bundle import KeyBundle, SerialCheck, verify_bundle
from gateway.errors import GatewayError, InvalidInputError
from gateway.identity.peer import Peer, Role
from gateway.policy import PolicyDecisionPoint
from gateway.store.repositories.members import MemberDirectory, MemberRecord, PublishedKeys

LIVENESS_ACTION = "directory.read_liveness"
# A member missing this many heartbeats counts as offline for routing.
LIVENESS_HEARTBEATS = 3
MINIMUM_LIVENESS = dt.timedelta(seconds=15)
MAX_VERSION_LENGTH = 64


@dataclass(frozen=True)
class MemberView:
    """A directory entry as one viewer may see it."""

    member_id: str
    role: Role
    address: str
    software_version: str
    protocol_version: str
    registered_at: dt.datetime
    last_seen_at: dt.datetime | None
    keys: PublishedKeys | None = None
    # Known to the bureau only (reciprocity); never sent in the directory.
    blacklist_listings: int = 0

    def online(self, now: dt.datetime, window: dt.timedelta) -> bool:
        """Whether the member's last heartbeat lies within ``window`` before ``now``."""
        return self.last_seen_at is not None and now - self.last_seen_at <= window


class ConsortiumDirectory:
    """Registration, heartbeats and listing of consortium nodes.

    Parameters
    ----------
    members
        The bureau's member table.
    policy
        Decides who may see liveness.
    ca_certificate_pem, revocations
        Trust anchor and revocation list to check registered key bundles against.

    """

    def __init__(
        self,
        members: MemberDirectory,
        policy: PolicyDecisionPoint,
        *,
        ca_certificate_pem: bytes,
        revocations: SerialCheck,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._clock = clock
        self._members = members
        self._policy = policy
        self._ca_pem = ca_certificate_pem
        self._revocations = revocations

    def _verify_keys(self, member_id: str, keys: PublishedKeys, now: dt.datetime) -> None:
        """Refuse a key bundle its own certificate does not sign (members verify again)."""
        bundle = KeyBundle(member_id, keys.hpke_public_key, keys.mask_public_key, keys.created_at)
        certificate_pem = ssl.DER_cert_to_PEM_cert(keys.certificate_der).encode("ascii")
        verify_bundle(
            bundle,
            keys.signature,
            certificate_pem,
            ca_certificate_pem=self._ca_pem,
            revocation=self._revocations,
            now=now,
        )

    def register(
        self,
        peer: Peer,
        *,
        address: str,
        software_version: str,
        protocol_version: str,
        keys: PublishedKeys | None,
        now: dt.datetime,
    ) -> MemberView:
        """Record (or refresh) ``peer``'s registration under its certificate identity.

        Raises
        ------
        InvalidInputError
            When the advertised address is not ``host:port`` or a version is malformed.

        """
        _check_address(address)
        _check_version(software_version, field="software_version")
        _check_version(protocol_version, field="protocol_version")
        if keys is not None:
            self._verify_keys(peer.member_id, keys, now)
        record = self._members.upsert_registration(
            member_id=peer.member_id,
            role=peer.role,
            address=address,
            cert_fingerprint=peer.fingerprint,
            cert_serial=str(peer.serial),
            software_version=software_version,
            protocol_version=protocol_version,
            at=now,
            keys=keys,
        )
        return _view(record)

    def heartbeat(
        self,
        peer: Peer,
        *,
        software_version: str,
        blacklist_listings: int,
        now: dt.datetime,
        address: str = "",
    ) -> None:
        """Note that ``peer`` is alive, how many blacklist listings it contributes, and where it serves.

        A heartbeat naming another address than the registration corrects it: a
        registration with a wrong address was otherwise kept for as long as the member
        lived, and every check waited the member deadline on it (issue #17).

        Raises
        ------
        NotFoundError
            When ``peer`` has not registered (it should register first).
        InvalidInputError
            When the address is not ``host:port``.

        """
        _check_version(software_version, field="software_version")
        if address:
            _check_address(address)
        self._members.touch_heartbeat(
            peer.member_id,
            now,
            software_version=software_version,
            blacklist_listings=blacklist_listings,
            address=address or None,
        )

    def members(self) -> list[MemberView]:
        """Every registered member in good standing, with liveness, for the bureau's own routing.

        A member whose certificate is revoked or expired is left out (issue #17 item 1):
        it is neither asked nor listed, and checks go on without it.
        """
        return [_view(record) for record in self._members.list_members() if self._in_good_standing(record)]

    def remove(self, member_id: str) -> None:
        """Delete a member from the directory (``credgate bureau remove-member``).

        Raises
        ------
        NotFoundError
            When the member is not registered.

        """
        self._members.remove(member_id)

    def _in_good_standing(self, record: MemberRecord) -> bool:
        try:
            self._revocations.check(int(record.cert_serial))
        except (GatewayError, ValueError):
            return False
        if record.keys is not None:
            not_after = _not_valid_after(record.keys.certificate_der)
            if not_after is None:
                return False
            now = self._clock() if self._clock is not None else record.last_seen_at or record.registered_at
            if not_after < now:
                return False
        return True

    def listing(self, viewer: Peer) -> list[MemberView]:
        """Every member in good standing, with liveness only when ``viewer`` may see it."""
        views = self.members()
        if self._policy.decide(viewer, LIVENESS_ACTION).allowed:
            return views
        return [replace(view, last_seen_at=None) for view in views]


@functools.lru_cache(maxsize=1024)
def _not_valid_after(certificate_der: bytes) -> dt.datetime | None:
    """When a member's certificate expires, ``None`` when it does not parse (read on every check)."""
    try:
        return x509.load_der_x509_certificate(certificate_der).not_valid_after_utc
    except ValueError:
        return None


def _view(record: MemberRecord) -> MemberView:
    return MemberView(
        member_id=record.member_id,
        role=record.role,
        address=record.address,
        software_version=record.software_version,
        protocol_version=record.protocol_version,
        registered_at=record.registered_at,
        last_seen_at=record.last_seen_at,
        keys=record.keys,
        blacklist_listings=record.blacklist_listings,
    )


def _check_address(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(f"expected host:port, received {address!r}", field="advertised_address")


def _check_version(value: str, *, field: str) -> None:
    if not value or len(value) > MAX_VERSION_LENGTH or not value.isprintable():
        raise InvalidInputError(f"expected 1–{MAX_VERSION_LENGTH} printable characters", field=field)


def heartbeat_interval(configured_seconds: float) -> int:
    """Whole seconds between heartbeats that the bureau asks members for (at least 1)."""
    return max(1, round(configured_seconds))


def liveness_window(configured_seconds: float) -> dt.timedelta:
    """How long after its last heartbeat a member still counts as online.

    Three heartbeats, and never less than ``MINIMUM_LIVENESS``: a node that a busy host stalls
    for a few seconds is still asked, and answers; one that is really gone fails its call at
    once and is dropped from the round like any other dropout.
    """
    heartbeats = dt.timedelta(seconds=LIVENESS_HEARTBEATS * heartbeat_interval(configured_seconds))
    return max(heartbeats, MINIMUM_LIVENESS)
