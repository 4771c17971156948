"""Assembling a node's egress guard: allow-list, exact-match index, interceptors, outbound files."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit import AuditRecorder
from gateway.config import Settings
from gateway.egress.files import OutboundFiles
from gateway.egress.guard import EgressGuard
from gateway.egress.index import ExactMatchIndex, load_or_create_secret
from gateway.egress.opaque import OpaqueEgress
from gateway.egress.schema import EgressSchema
from gateway.identity.peer import Peer
from gateway.rpc.interceptors.egress import ClientEgressInterceptor, EgressAuditor, ServerEgressInterceptor
from gateway.store.database import Store

INDEX_KEY_FILE = "egress-index.key"


@dataclass(frozen=True)
class NodeEgress:
    """The guard and the interceptors that put it on every server and channel of one node."""

    guard: EgressGuard
    server: ServerEgressInterceptor
    client: ClientEgressInterceptor
    files: OutboundFiles
    opaque: OpaqueEgress


def node_egress(settings: Settings, store: Store, audit: AuditRecorder, own: Peer) -> NodeEgress:
    """Build the node's guard over its own store's PII; interceptors audit into ``audit``.

    The index is built once here; a node re-imports its book before restarting, and
    ``guard.index.rebuild_from_store`` refreshes it in place.
    """
    index = ExactMatchIndex(load_or_create_secret(settings.data_dir / INDEX_KEY_FILE))
    index.rebuild_from_store(store)
    guard = EgressGuard(EgressSchema.from_directory(settings.policies_dir), index)
    auditor = EgressAuditor(audit, node_id=own.member_id, node_role=own.role.value)
    return NodeEgress(
        guard,
        ServerEgressInterceptor(guard, auditor),
        ClientEgressInterceptor(guard, auditor),
        OutboundFiles(index, audit, node_id=own.member_id, node_role=own.role.value),
        OpaqueEgress(index, audit, node_id=own.member_id, node_role=own.role.value),
    )
