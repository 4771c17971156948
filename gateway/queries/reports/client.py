"""The regulator's side: order a report, keep what was received, write it out for people.

The regulator signs each order — (template, period, nonce) — with the key of its own
certificate; members charge the identity that certificate names (issue #13). The nonce of an
order is kept (``PendingOrders``) until its release arrives, so a retry after a failure is the
same request to every member, which re-sends what it answered instead of refusing a second
release (issue #17 item 2). The regulator keeps every release it received (``ReleaseCache``
under its data dir); a repeated request is answered by the bureau from its cache, so the copy
here is identical. The report's ledger lists the releases of the period.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from gateway._proto.credgate.v1 import bureau_pb2_grpc, regulator_report_pb2
from gateway.egress.files import OutboundFiles
from gateway.reports._files import locked, read_lines, write_lines
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, LedgerEntry, ReleaseCache
from gateway.reports.histograms import Period
from gateway.reports.noise import zcdp_epsilon
from gateway.reports.order import NONCE_BYTES, ReportOrder, sign_order
from gateway.reports.release import Release
from gateway.reports.render import Language, ReportDocument, render_html, render_pdf
from gateway.reports.templates import ReportTemplate, load_template
from gateway.rpc.convert.reports import release_from_proto
from gateway.rpc.convert.subject_check import new_header
from gateway.rpc.status import error_from_rpc

if TYPE_CHECKING:
    from gateway.node.session import MemberSession

REQUEST_TIMEOUT_SECONDS = 120.0

_INLINE_IMAGE = re.compile(r"(data:image/png;base64,)[A-Za-z0-9+/=]+")


@dataclass(frozen=True)
class ReceivedReport:
    """A release as the regulator received it, and whether the bureau answered from its cache."""

    release: Release
    template: ReportTemplate
    from_cache: bool


class PendingOrders:
    """Nonces of orders sent and not yet answered with a release, kept for retries.

    ``<data dir>/reports/pending-orders.jsonl``: one ``{template_id, period, nonce}`` per
    outstanding order; removed when its release arrives.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> PendingOrders:
        """The file under the regulator's data dir."""
        return cls(data_dir / "reports" / "pending-orders.jsonl")

    def order(self, template_id: str, period: str) -> ReportOrder:
        """The outstanding order for (template, period), or a new one (kept until fulfilled)."""
        with locked(self._path):
            records = read_lines(self._path)
            for record in records:
                if (record.get("template_id"), record.get("period")) == (template_id, period):
                    return ReportOrder(template_id, period, bytes.fromhex(str(record["nonce"])))
            order = ReportOrder(template_id, period, os.urandom(NONCE_BYTES))
            write_lines(
                self._path,
                [*records, {"template_id": template_id, "period": period, "nonce": order.nonce.hex()}],
            )
            return order

    def fulfilled(self, order: ReportOrder) -> None:
        """Forget an order whose release arrived."""
        with locked(self._path):
            records = read_lines(self._path)
            kept = [r for r in records if r.get("nonce") != order.nonce.hex()]
            if len(kept) != len(records):
                write_lines(self._path, kept)


class RegulatorClient:
    """Orders reports from the bureau as the regulator's certificate."""

    def __init__(
        self,
        channel: grpc.Channel,
        *,
        regulator: str,
        tls_key_pem: bytes,
        policies_dir: Path,
        data_dir: Path,
    ) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._regulator = regulator
        self._key = tls_key_pem
        self._policies_dir = policies_dir
        self._received = ReleaseCache.in_data_dir(data_dir)
        self._pending = PendingOrders.in_data_dir(data_dir)

    @classmethod
    def for_session(cls, session: MemberSession) -> RegulatorClient:
        """A client on the session's channel, as its certificate's regulator, with its policies and data."""
        settings = session.settings
        return cls(
            session.channel,
            regulator=session.identity.own.member_id,
            tls_key_pem=session.identity.key_pem,
            policies_dir=settings.policies_dir,
            data_dir=settings.data_dir,
        )

    def request(self, template_id: str, period: str) -> ReceivedReport:
        """Ask for ``template_id`` over ``period``.

        Raises
        ------
        InvalidInputError
            When ``period`` is not a month (``YYYY-MM``).
        ConfigError
            When the template is unknown here.
        GatewayError
            The bureau's or the members' refusal, mapped from the status (budget exhausted:
            ``RateLimited``; too few members: ``UnavailableError``).

        """
        template = load_template(self._policies_dir, template_id)
        order = self._pending.order(template_id, str(Period.parse(period)))
        message = regulator_report_pb2.RequestReportRequest(
            header=new_header(),
            template_id=template_id,
            period=order.period,
            nonce=order.nonce,
            order_signature=sign_order(order, self._key),
        )
        try:
            response = self._stub.RequestReport(message, timeout=REQUEST_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau") from exc
        release = self._received.put(release_from_proto(response, template, regulator=self._regulator))
        self._pending.fulfilled(order)
        return ReceivedReport(release, template, response.from_cache)

    def document(self, report: ReceivedReport, *, language: Language = "zh") -> ReportDocument:
        """The report with the period's ledger of every release received (each charged at every member)."""
        policy = BudgetPolicy.from_file(self._policies_dir / BUDGET_FILE)
        ledger = [
            LedgerEntry(
                r.regulator,
                r.period,
                r.template_id,
                r.template_version,
                "",
                r.rho,
                r.released_at.isoformat(),
            )
            for r in self._received.all()
            if r.period == report.release.period and r.regulator == self._regulator
        ]
        spent = math.fsum(entry.rho for entry in ledger)
        return ReportDocument(
            report.template,
            report.release,
            ledger,
            policy.rho_per_regulator_period,
            zcdp_epsilon(spent, delta=policy.delta_for_statement),
            policy.delta_for_statement,
            language=language,
        )


def write_report(document: ReportDocument, out_dir: Path, *, files: OutboundFiles) -> tuple[Path, Path]:
    """Write ``<template>-<period>.html`` and ``.pdf`` into ``out_dir`` through the egress guard.

    The guard reads the page's text with the inline charts' base64 bytes left out: they are
    not text, only pictures of the released figures the page states in words, and identifier
    patterns matched inside random base64 would refuse a report for nothing.
    """
    suffix = "" if document.language == "zh" else f".{document.language}"
    stem = f"{document.release.template_id}-{document.release.period}{suffix}"
    page = render_html(document)
    text = _INLINE_IMAGE.sub(r"\1", page)
    html_path = files.write_rendering(
        out_dir / f"{stem}.html", page.encode("utf-8"), kind="report", text=text
    )
    pdf_path = files.write_rendering(out_dir / f"{stem}.pdf", render_pdf(document), kind="report", text=text)
    return html_path, pdf_path
