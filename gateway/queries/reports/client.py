"""The regulator's side: request a report, keep what was received, write it out for people.

The regulator keeps every release it received (``ReleaseCache`` under its data dir); a
repeated request is answered by the bureau from its cache, so the copy here is identical.
The report's ledger lists the releases of the period as every member charged them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from gateway._proto.credgate.v1 import bureau_pb2_grpc, regulator_report_pb2
from gateway.egress.files import OutboundFiles
from gateway.reports.budget import BUDGET_FILE, BudgetPolicy, LedgerEntry, ReleaseCache
from gateway.reports.histograms import Period
from gateway.reports.noise import zcdp_epsilon
from gateway.reports.release import Release
from gateway.reports.render import ReportDocument, render_html, render_pdf
from gateway.reports.templates import ReportTemplate, load_template
from gateway.rpc.convert.reports import release_from_proto
from gateway.rpc.convert.subject_check import new_header
from gateway.rpc.status import error_from_rpc

if TYPE_CHECKING:
    from gateway.node.session import MemberSession

REQUEST_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class ReceivedReport:
    """A release as the regulator received it, and whether the bureau answered from its cache."""

    release: Release
    template: ReportTemplate
    from_cache: bool


class RegulatorClient:
    """Requests reports from the bureau as the regulator's certificate."""

    def __init__(self, channel: grpc.Channel, *, regulator: str, policies_dir: Path, data_dir: Path) -> None:
        self._stub = bureau_pb2_grpc.BureauServiceStub(channel)
        self._regulator = regulator
        self._policies_dir = policies_dir
        self._received = ReleaseCache.in_data_dir(data_dir)

    @classmethod
    def for_session(cls, session: MemberSession) -> RegulatorClient:
        """A client on the session's channel, as its certificate's regulator, with its policies and data."""
        settings = session.settings
        return cls(
            session.channel,
            regulator=session.identity.own.member_id,
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
        message = regulator_report_pb2.RequestReportRequest(
            header=new_header(), template_id=template_id, period=str(Period.parse(period))
        )
        try:
            response = self._stub.RequestReport(message, timeout=REQUEST_TIMEOUT_SECONDS)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau") from exc
        release = self._received.put(release_from_proto(response, template, regulator=self._regulator))
        return ReceivedReport(release, template, response.from_cache)

    def document(self, report: ReceivedReport) -> ReportDocument:
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
        )


def write_report(document: ReportDocument, out_dir: Path, *, files: OutboundFiles) -> tuple[Path, Path]:
    """Write ``<template>-<period>.html`` and ``.pdf`` into ``out_dir`` through the egress guard."""
    stem = f"{document.release.template_id}-{document.release.period}"
    page = render_html(document)
    html_path = files.write_text(out_dir / f"{stem}.html", page, kind="report")
    pdf_path = files.write_rendering(out_dir / f"{stem}.pdf", render_pdf(document), kind="report", text=page)
    return html_path, pdf_path
