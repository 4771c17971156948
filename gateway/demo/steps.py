"""The demo's query steps, in order; each feature adds its steps here."""

from __future__ import annotations

from collections.abc import Callable

from gateway.demo import conduct, contact, egress, model, reports, subject_checks, transparency
from gateway.demo.context import DemoContext

QueryStep = Callable[[DemoContext], None]

QUERY_STEPS: list[tuple[str, QueryStep]] = [
    ("books tokenised (blind OPRF through the bureau)", subject_checks.tokenise_books),
    ("single subject checks (masked sums over the other members)", subject_checks.single_checks),
    ("portfolio screen (batched subject check)", subject_checks.batch_screen),
    ("subject access (sealed to the subject's one-time key)", subject_checks.subject_access),
    ("egress guard (fail closed on this node's own PII)", egress.egress_guard),
    ("regulator report (distributed differential privacy, cached repeat)", reports.regulator_report),
    (
        "contact clearance (caps across agencies, quiet hours, flags; per-day keyed tags)",
        contact.contact_clearance,
    ),
    ("complaints (intake, SLA clocks, escalation, closure)", conduct.complaints),
    ("conduct screening of collection calls (flags stay at the agency)", conduct.conduct_screening),
    ("regulator's monthly conduct report (same distributed differential privacy)", conduct.conduct_report),
    ("shared model trained across the lenders (Flower, SecAgg+, masked evaluation)", model.train_model),
    ("signed model fetched, verified and used to score each lender's own accounts", model.score_accounts),
    (
        "audit logs witnessed: each co-signed by the other members and verified; a bundle checked offline",
        transparency.witnessed_logs,
    ),
]
