"""Demo steps for complaints, conduct screening and the regulator's monthly conduct report.

The narrated cases (a complaint filed, answered, planned and closed; a serious one escalated;
five calls screened) come with a month's worth of synthetic activity at three members, so that
the differentially private report has cells above its noise to release.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from rich.table import Table

from gateway.clock import LOCAL_ZONE
from gateway.complaints.book import ComplaintBook, ComplaintIntake, ComplaintView
from gateway.complaints.policy import ComplaintPolicy
from gateway.conduct.node import screen_and_keep
from gateway.conduct.rules import ConductRuleSet
from gateway.conduct.screener import ConductScreener, Transcript, Utterance
from gateway.demo.context import DemoContext
from gateway.policy.contact_rules import ContactRules
from gateway.reports.histograms import Period
from gateway.reports.render import sla_share
from gateway.store.database import Store, open_store
from gateway.store.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintGrade,
    ComplaintOutcome,
    ConductSource,
    ContactParty,
)
from gateway.store.models import Account

TEMPLATE_ID = "monthly-conduct"
_CATEGORIES = (
    (ComplaintCategory.ATTITUDE_OR_EXCESSIVE, 0.63),
    (ComplaintCategory.INFORMATION_LEAK, 0.18),
    (ComplaintCategory.HARASSING_CONTACTS, 0.12),
    (ComplaintCategory.COMPLIANCE_DISPUTE, 0.04),
    (ComplaintCategory.OTHER, 0.03),
)
_SAMPLE_CALLS = (
    ("您好，我是XX消费金融的客服，提醒您本期账单已逾期，请问什么时候方便还款？", ContactParty.DEBTOR),
    ("如果您仍未还款，我方将依法向人民法院提起诉讼，请您重视。", ContactParty.DEBTOR),
    ("你这种老赖就是社会的垃圾，今天不还钱我们就去你单位闹。", ContactParty.DEBTOR),
    ("我是区人民法院执行局的，你的案子在我这里，今天必须还清。", ContactParty.DEBTOR),
    ("您好，您儿子在我们这里借了三万块钱一直没还，您得管管。", ContactParty.THIRD_PARTY),
)
_BATCH = (
    ("你真是个废物，连这点钱都还不上。", ContactParty.DEBTOR, 50),
    ("再不还钱，小心我找人去你家门口堵你。", ContactParty.DEBTOR, 30),
    ("今天不还款，明天公安就会上门把你抓走。", ContactParty.DEBTOR, 20),
    ("您好，提醒您按时还款，有困难可以申请分期。", ContactParty.DEBTOR, 40),
)


def complaints(context: DemoContext) -> None:
    """An agency files, answers, plans and closes a complaint; a lender's serious one is escalated."""
    policy = ComplaintPolicy.from_directory(context.member_settings["agency-1"].policies_dir)
    table = Table(
        "member", "ref", "category", "grade", "state", "SLA", "escalated to", title="complaints (投诉闭环)"
    )
    with _store(context, "agency-1") as store:
        book = ComplaintBook(store, policy, member_id="agency-1", clock=context.clock)
        account = _accounts(store, 1)[0]
        book.file(
            ComplaintIntake(
                "AG1-CPL-0001",
                ComplaintChannel.PHONE,
                ComplaintCategory.ATTITUDE_OR_EXCESSIVE,
                ComplaintGrade.MODERATE,
                "催收员一天内打了五次电话，语气恶劣",
                account_ref=account,
                lender_member_id="bank-1",
                agency_member_id="agency-1",
                linked_ref="B1-CPL-0042",
            )
        )
        book.respond("AG1-CPL-0001", "回电致歉，说明已暂停该催收员的外呼")
        book.plan("AG1-CPL-0001", "更换催收员，每日联系上限改为两次，三天内回访")
        closed = book.close("AG1-CPL-0001", ComplaintOutcome.UPHELD, "客户接受处理方案")
        table.add_row("agency-1", *_row(closed))
        _month_of_complaints(book, store, "agency-1", count=30)
    with _store(context, "bank-1") as store:
        book = ComplaintBook(store, policy, member_id="bank-1", clock=context.clock)
        serious = book.file(
            ComplaintIntake(
                "B1-CPL-0043",
                ComplaintChannel.REGULATOR_REFERRAL,
                ComplaintCategory.INFORMATION_LEAK,
                ComplaintGrade.SERIOUS,
                "催收方向客户同事透露欠款",
                agency_member_id="agency-1",
            )
        )
        table.add_row("bank-1", *_row(serious))
        _month_of_complaints(book, store, "bank-1", count=30)
    with _store(context, "bank-2") as store:
        _month_of_complaints(
            ComplaintBook(store, policy, member_id="bank-2", clock=context.clock), store, "bank-2", count=30
        )
    context.console.print(table)
    context.console.print(
        "  plus 30 synthetic complaints at each of agency-1, bank-1 and bank-2 for the month"
    )
    context.results["complaint_closed_sla"] = closed.sla.value
    context.results["complaint_serious_escalated_to"] = serious.record.escalated_to


def conduct_screening(context: DemoContext) -> None:
    """agency-1 screens five calls (flags shown with rule and span) and a month of calls."""
    settings = context.member_settings["agency-1"]
    contact_rules = ContactRules.from_directory(settings.policies_dir)
    screener = ConductScreener(ConductRuleSet.from_directory(settings.policies_dir), contact_rules)
    table = Table(
        "call", "party", "rule", "span", "words", title="conduct screening at agency-1 (flags stay there)"
    )
    with _store(context, "agency-1") as store:
        accounts = _accounts(store, 200)
        for number, (text, party) in enumerate(_SAMPLE_CALLS):
            transcript = _call(f"demo-call-{number + 1}", accounts[number], text, party)
            findings = screen_and_keep(store, screener, contact_rules, transcript, now=context.clock())
            if not findings:
                table.add_row(transcript.source_ref, party.value, "—", "", "")
            for finding in findings:
                span = f"{finding.start}-{finding.end}"
                table.add_row(transcript.source_ref, party.value, finding.rule, span, finding.excerpt)
        flagged = 0
        batch = [(text, party) for text, party, count in _BATCH for _ in range(count)]
        for number, (text, party) in enumerate(batch):
            transcript = _call(
                f"demo-batch-{number}", accounts[5 + number % (len(accounts) - 5)], text, party
            )
            flagged += bool(screen_and_keep(store, screener, contact_rules, transcript, now=context.clock()))
    context.console.print(table)
    context.console.print(f"  plus {len(batch)} calls screened for the month, {flagged} flagged")
    context.results["conduct_flagged_calls"] = flagged


def conduct_report(context: DemoContext) -> None:
    """The regulator's monthly conduct report: prevented contacts, complaints, conduct flags."""
    from gateway.node.session import member_session
    from gateway.queries.reports.client import RegulatorClient, write_report

    settings = context.regulator_settings
    if settings is None:
        raise AssertionError("the demo provisions a regulator")
    period = str(Period.containing(context.clock(), LOCAL_ZONE))
    with member_session(settings) as session:
        client = RegulatorClient.for_session(session)
        report = client.request(TEMPLATE_ID, period)
        html_path, _ = write_report(
            client.document(report), context.outputs / "reports", files=session.egress.files
        )
    table = Table(
        "histogram",
        "cell",
        "noisy count",
        title=f"{TEMPLATE_ID} {period} (released cells; the rest suppressed)",
    )
    for histogram in report.release.histograms:
        for cell in histogram.cells:
            if cell.noisy_count is not None:
                table.add_row(histogram.histogram_id, " / ".join(cell.coordinates), str(cell.noisy_count))
    context.console.print(table)
    complaints_histogram = next(h for h in report.release.histograms if h.histogram_id == "complaints")
    share = sla_share(complaints_histogram)
    context.console.print(
        "  complaints handled within SLA (published totals by SLA status): "
        + (f"{share[0]:.0%}" if share is not None else "none met or missed")
        + f"; report: {html_path}"
    )
    context.results["conduct_report_html"] = str(html_path)
    context.results["conduct_report_released"] = {
        h.histogram_id: sum(1 for c in h.cells if c.noisy_count is not None)
        for h in report.release.histograms
    }


def _month_of_complaints(book: ComplaintBook, store: Store, member_id: str, *, count: int) -> None:
    # Each from a different debtor of the member: the report counts persons (issue #13), and a
    # complaint naming no borrower of the member cannot be bounded per person.
    rng = random.Random(f"complaints-{member_id}")
    categories = [category for category, _ in _CATEGORIES]
    weights = [weight for _, weight in _CATEGORIES]
    accounts = _accounts(store, count + 1)[1:]
    for number, account in enumerate(accounts):
        ref = f"{member_id}-M-{number:03d}"
        category = rng.choices(categories, weights)[0]
        book.file(
            ComplaintIntake(
                ref,
                ComplaintChannel.PHONE,
                category,
                ComplaintGrade.MINOR,
                "月度投诉（合成）",
                account_ref=account,
            )
        )
        book.respond(ref, "已回复")
        book.plan(ref, "已整改")


def _call(ref: str, account: str, text: str, party: ContactParty) -> Transcript:
    return Transcript(
        ref,
        ConductSource.TRANSCRIPT,
        party,
        (Utterance("collector", text), Utterance("debtor", "好的，我知道了。")),
        account_ref=account,
        occurred_at=None,
    )


def _accounts(store: Store, count: int) -> list[str]:
    with store.transaction() as session:
        return list(session.scalars(sa.select(Account.account_ref).order_by(Account.id).limit(count)))


def _row(view: ComplaintView) -> tuple[str, ...]:
    record = view.record
    return (
        record.complaint_ref,
        record.category.value,
        record.grade.value,
        record.state.value,
        view.sla.value,
        record.escalated_to or "-",
    )


@contextmanager
def _store(context: DemoContext, member_id: str) -> Iterator[Store]:
    store = open_store(context.member_settings[member_id].store_url)
    try:
        yield store
    finally:
        store.close()
