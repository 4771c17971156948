"""Everything a member's command-line tools need to query the consortium, opened from settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc

from gateway.audit import AuditRecorder
from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.contact.client import ContactClearanceClient
from gateway.contact.flags import FlagPublisher
from gateway.contact.keys import MembersSecretDailyKeys
from gateway.crypto.members_secret import MembersSecretStore
from gateway.errors import ConfigError
from gateway.identity.tls import TLSIdentity
from gateway.node.bureau_calls import GrpcCheckTransport
from gateway.node.bureau_client import BureauClient
from gateway.node.contact_calls import GrpcContactTransport
from gateway.node.egress import NodeEgress, node_egress
from gateway.node.pins import PinStore
from gateway.node.tokeniser import RemoteTokeniser
from gateway.policy import PolicyDecisionPoint
from gateway.policy.contact_rules import ContactRules
from gateway.queries.subject_check.layout import VectorLayout
from gateway.queries.subject_check.querier import SubjectCheckClient
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.rpc.channel import open_channel
from gateway.store.database import Store, open_store
from gateway.store.repositories.audit import AuditLog
from gateway.transparency.gate import KeyLogGate
from gateway.transparency.settings import TransparencySettings


@dataclass(frozen=True)
class MemberSession:
    """An open mTLS channel to the bureau plus this member's store and policies."""

    settings: Settings
    identity: TLSIdentity
    store: Store
    channel: grpc.Channel
    check_settings: SubjectCheckSettings
    policy: PolicyDecisionPoint
    egress: NodeEgress
    audit: AuditRecorder
    clock: Clock

    @property
    def tokeniser(self) -> RemoteTokeniser:
        """Blind OPRF through the bureau."""
        return RemoteTokeniser(self.channel)

    def subject_checks(self) -> SubjectCheckClient:
        """A subject-check client acting as this member."""
        client = BureauClient(
            self.identity,
            self._bureau_address,
            bureau_member_id=self.settings.bureau_member_id,
            egress=self.egress.client,
        )
        layout = VectorLayout.from_settings(self.check_settings)
        return SubjectCheckClient(
            me=self.identity.own,
            identity=self.identity,
            store=self.store,
            policy=self.policy,
            tokeniser=self.tokeniser,
            peers=self.pins(client),
            secrets=self.secrets,
            transport=GrpcCheckTransport(self.channel, layout_version=layout.version, width=layout.width),
            settings=self.check_settings,
            clock=self.clock,
            audit=self.audit,
        )

    @property
    def day_keys(self) -> MembersSecretDailyKeys:
        """Per-day contact-tag keys from the members' secret (``secrets``, issue #11)."""
        return MembersSecretDailyKeys(self.secrets)

    @property
    def contact_rules(self) -> ContactRules:
        """``policies/contact_rules.toml``."""
        return ContactRules.from_directory(self.settings.policies_dir)

    def contact_clearance(self, *, retry_seconds: float = 120.0) -> ContactClearanceClient:
        """The dialer library acting as this member."""
        return ContactClearanceClient(
            me=self.identity.own,
            store=self.store,
            tokeniser=self.tokeniser,
            day_keys=self.day_keys,
            transport=GrpcContactTransport(self.channel),
            rules=self.contact_rules,
            clock=self.clock,
            retry_seconds=retry_seconds,
        )

    def flag_publisher(self) -> FlagPublisher:
        """Publishes this member's contact flags for a day."""
        return FlagPublisher(
            me=self.identity.own,
            store=self.store,
            tokeniser=self.tokeniser,
            day_keys=self.day_keys,
            transport=GrpcContactTransport(self.channel),
            rules=self.contact_rules,
            clock=self.clock,
        )

    @property
    def secrets(self) -> MembersSecretStore:
        """The epochs of the members' secret this member holds."""
        return MembersSecretStore.for_data_dir(self.settings.data_dir)

    def pins(self, client: BureauClient | None = None) -> PinStore:
        """This member's pin store over the bureau's directory (the one place peer keys are accepted).

        Keys pass the key-log gate (issue #12) before the pinning rules (issue #11).
        """
        bureau = client or BureauClient(
            self.identity,
            self._bureau_address,
            bureau_member_id=self.settings.bureau_member_id,
            egress=self.egress.client,
        )
        return PinStore(
            self.store,
            self.identity,
            lambda: bureau.directory()[0],
            clock=self.clock,
            audit=self.audit,
            gate=self.key_log_gate(),
            trust_wait=dt.timedelta(seconds=self.transparency.trust_wait_seconds),
        )

    @property
    def transparency(self) -> TransparencySettings:
        """The transparency policy."""
        return TransparencySettings.from_directory(self.settings.policies_dir)

    def key_log_gate(self) -> KeyLogGate:
        """Peer certificates and keys only through trusted key-log checkpoints (kept by the node)."""
        return KeyLogGate(
            self.store,
            ca_certificate_pem=self.identity.ca_pem,
            bureau_member_id=self.settings.bureau_member_id,
            settings=self.transparency,
            clock=self.clock,
        )

    @property
    def _bureau_address(self) -> str:
        assert self.settings.bureau_address is not None
        return self.settings.bureau_address


@contextmanager
def member_session(settings: Settings, *, clock: Clock = system_clock) -> Iterator[MemberSession]:
    """Open the store and a channel to the bureau for a member's tools; close both after.

    Raises
    ------
    ConfigError
        When the settings name no bureau address.

    """
    if settings.bureau_address is None:
        raise ConfigError('this command needs [bureau] address = "host:port" in the node configuration')
    identity = TLSIdentity.from_settings(settings.tls)
    store = open_store(settings.store_url)
    try:
        audit = AuditRecorder(AuditLog(store), node_id=identity.own.member_id, clock=clock)
        egress = node_egress(settings, store, audit, identity.own)
        channel = open_channel(
            identity, settings.bureau_address, peer_member_id=settings.bureau_member_id, egress=egress.client
        )
    except BaseException:
        store.close()
        raise
    try:
        policy = PolicyDecisionPoint.from_directory(
            settings.policies_dir, node_id=identity.own.member_id, node_role=identity.own.role
        )
        yield MemberSession(
            settings,
            identity,
            store,
            channel,
            SubjectCheckSettings.from_directory(settings.policies_dir),
            policy,
            egress,
            audit,
            clock,
        )
    finally:
        channel.close()
        store.close()
