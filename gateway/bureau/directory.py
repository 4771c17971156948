"""The consortium directory kept by the bureau: who is a member, in which role, where.

Members register with the identity and role of their certificate; the
directory never takes either from the request. Liveness (last heartbeat) is
shown only to viewers the policy allows (the bureau's own operators), because
which members are online must not be visible to members (ARCHITECTURE §6.1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from gateway.errors import InvalidInputError
from gateway.identity.peer import Peer, Role
from gateway.policy import PolicyDecisionPoint
from gateway.store.repositories.members import MemberDirectory, MemberRecord

LIVENESS_ACTION = "directory.read_liveness"
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


class ConsortiumDirectory:
    """Registration, heartbeats and listing of consortium nodes.

    Parameters
    ----------
    members
        The bureau's member table.
    policy
        Decides who may see liveness.

    """

    def __init__(self, members: MemberDirectory, policy: PolicyDecisionPoint) -> None:
        self._members = members
        self._policy = policy

    def register(self, peer: Peer, *, address: str, software_version: str, protocol_version: str,
                 now: dt.datetime) -> MemberView:
        """Record (or refresh) ``peer``'s registration under its certificate identity.

        Raises
        ------
        InvalidInputError
            When the advertised address is not ``host:port`` or a version is malformed.

        """
        _check_address(address)
        _check_version(software_version, field="software_version")
        _check_version(protocol_version, field="protocol_version")
        record = self._members.upsert_registration(
            member_id=peer.member_id, role=peer.role, address=address,
            cert_fingerprint=peer.fingerprint, cert_serial=str(peer.serial),
            software_version=software_version, protocol_version=protocol_version, at=now,
        )
        return _view(record)

    def heartbeat(self, peer: Peer, *, software_version: str, now: dt.datetime) -> None:
        """Note that ``peer`` is alive.

        Raises
        ------
        NotFoundError
            When ``peer`` has not registered (it should register first).

        """
        _check_version(software_version, field="software_version")
        self._members.touch_heartbeat(peer.member_id, now, software_version=software_version)

    def listing(self, viewer: Peer) -> list[MemberView]:
        """Every registered member, with liveness only when ``viewer`` may see it."""
        views = [_view(record) for record in self._members.list_members()]
        if self._policy.decide(viewer, LIVENESS_ACTION).allowed:
            return views
        return [replace(view, last_seen_at=None) for view in views]


def _view(record: MemberRecord) -> MemberView:
    return MemberView(
        member_id=record.member_id, role=record.role, address=record.address,
        software_version=record.software_version, protocol_version=record.protocol_version,
        registered_at=record.registered_at, last_seen_at=record.last_seen_at,
    )


def _check_address(address: str) -> None:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInputError(f"expected host:port, received {address!r}", field="advertised_address")


def _check_version(value: str, *, field: str) -> None:
    if not value or len(value) > MAX_VERSION_LENGTH or not value.isprintable():
        raise InvalidInputError(f"expected 1–{MAX_VERSION_LENGTH} printable characters", field=field)
