"""Demo step for the egress guard: free text redacted, and a member's own PII refused on the wire."""

from __future__ import annotations

import sqlalchemy as sa

from gateway._proto.credgate.v1 import bureau_pb2, bureau_pb2_grpc
from gateway.demo.context import DemoContext
from gateway.egress.guard import EgressBlocked
from gateway.node.session import member_session
from gateway.store.models import Borrower
from gateway.store.repositories.audit import AuditLog


def egress_guard(context: DemoContext) -> None:
    """Redact a collection note; try to send a customer's mobile and watch the guard refuse it."""
    with member_session(context.member_settings["bank-3"]) as session:
        with session.store.transaction() as db:
            name, mobile = db.execute(sa.select(Borrower.name, Borrower.mobile).limit(1)).one()
        note = f"催收记录：联系借款人{name}，手机{mobile[:3]} {mobile[3:7]} {mobile[7:]}，承诺月底还款。"
        from gateway.egress.redactor import Redactor  # Presidio + LAC: loaded only for this step

        redacted = Redactor().redact(note).text
        context.console.print(f"  collection note as it would leave: {redacted}")
        stub = bureau_pb2_grpc.BureauServiceStub(session.channel)
        try:
            stub.Heartbeat(bureau_pb2.HeartbeatRequest(software_version=f"build {mobile}"), timeout=5)
        except EgressBlocked as exc:
            entry = AuditLog(session.store).entries()[-1]
            context.console.print(f"  a heartbeat carrying a customer's mobile was refused: {exc.message}")
            context.console.print(f"  audited at bank-3 as {entry.action} ({entry.reason}): {entry.details}")
            context.results["egress_blocked"] = 1
            return
    raise AssertionError("the egress guard let a customer's mobile through")
