"""Demo steps for collection conduct: contact clearance, complaints, conduct screening.

Contact clearance depends on the local hour (no contact 22:00–08:00), so this step runs its
clearances against a clearance desk whose clock the demo sets: a second bureau instance inside
the demo process, with the bureau's certificate and OPRF key, on loopback with mTLS. The
morning part is at 10:00 local time today, the evening part at 22:30; the member side is the
ordinary dialer library on the members' own stores. A lender hands 60 delinquent accounts to
agency-1 and to a second agency, agency-2 (provisioned here with the demo CA; its node runs once
to receive the members' secret that keys the contact tags), and signs their grants for the day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from rich.table import Table

from gateway.clock import LOCAL_ZONE, local_date
from gateway.config import Settings
from gateway.contact.client import ContactClearanceClient
from gateway.contact.entrustments import import_grants, issue_grants
from gateway.contact.flags import set_flag
from gateway.demo.context import DemoContext
from gateway.demo.provision import NodePlan, provision_node
from gateway.errors import GatewayError, UnavailableError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.node.ceremony import run_ceremony
from gateway.node.runtime import RunningNode, oprf_key_folder, start_bureau, start_member
from gateway.node.session import MemberSession, member_session
from gateway.store.database import Store
from gateway.store.enums import AccountStatus, ClearanceDecision, ContactChannel, ContactFlagKind
from gateway.store.models import Account, Borrower
from gateway.store.repositories.contact_member import ClearanceLog, Entrustments

LENDER = "bank-1"
AGENCY = "agency-1"
SECOND_AGENCY = "agency-2"
HANDED_OVER = 60
CHANNELS = (ContactChannel.PHONE, ContactChannel.SMS, ContactChannel.AI_VOICE)


@dataclass
class DemoClock:
    """The desk's and the dialers' clock, set by the demo."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        """The demo's current time."""
        return self.now

    def at_local(self, day: dt.date, hour: int, minute: int = 0) -> None:
        """Set the clock to a local time of ``day``."""
        self.now = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_ZONE).astimezone(dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += dt.timedelta(seconds=seconds)


def contact_clearance(context: DemoContext) -> None:
    """Clear, record, refuse a fourth connected call from a second agency and a call at 22:30."""
    day = local_date(context.clock())
    clock = DemoClock(context.clock())
    clock.at_local(day, 10)
    with _desk(context, clock) as desk, ExitStack() as stack:
        second = _second_agency(context)
        sessions = {
            member: stack.enter_context(
                member_session(dataclasses.replace(settings, bureau_address=desk.address), clock=clock)
            )
            for member, settings in (
                (LENDER, context.member_settings[LENDER]),
                (AGENCY, context.member_settings[AGENCY]),
                (SECOND_AGENCY, second),
            )
        }
        refs = _hand_over(sessions, day)
        if len(refs) < 4:
            raise GatewayError(f"{LENDER} holds only {len(refs)} delinquent accounts; the step needs 4")
        clients = {m: s.contact_clearance(retry_seconds=30.0) for m, s in sessions.items()}
        numbers = _mobiles(sessions[LENDER].store, refs)
        console = context.console

        def call(member: str, index: int, *, connected: bool | None = None) -> str:
            ref = refs[index] if member == LENDER else f"E-{refs[index]}"
            clearance = clients[member].clear(ref, channel=ContactChannel.PHONE, number=numbers[refs[index]])
            if clearance.granted and connected is not None:
                clients[member].record(clearance, connected=connected, attempted_at=clock())
            return clearance.decision.value

        console.print(
            f"  clearance desk on the demo's clock: {clock.now.astimezone(LOCAL_ZONE):%Y-%m-%d %H:%M} local"
        )
        for member in (AGENCY, AGENCY, LENDER):
            console.print(
                f"  {member} asks to call debtor 1: {call(member, 0, connected=True)}; the call connects"
            )
            clock.advance(600)
        fourth = call(SECOND_AGENCY, 0)
        console.print(
            f"  {SECOND_AGENCY} asks to call debtor 1 (a fourth connected call today): refused, {fourth}"
        )
        _flag_dispute(sessions[LENDER], refs[1], clock, day)
        disputed = call(AGENCY, 1)
        console.print(f"  {LENDER} records a dispute on debtor 2; {AGENCY} asks to call: refused, {disputed}")
        _working_day(clients, refs, numbers, clock, day)
        clock.at_local(day, 22, 30)
        quiet = call(AGENCY, 2)
        console.print(f"  22:30 local, {AGENCY} asks to call debtor 3: refused, {quiet}")
        for index in range(3, len(refs)):
            call(AGENCY, index)
        _show_decisions(context, sessions, day)
        context.results["contact_fourth_call"] = fourth
        context.results["contact_quiet_hours"] = quiet
        context.results["contact_dispute"] = disputed


def _working_day(
    clients: dict[str, ContactClearanceClient],
    refs: list[str],
    numbers: dict[str, str],
    clock: DemoClock,
    day: dt.date,
) -> None:
    """A morning of dialling: both agencies work every handed-over debtor a few times."""
    rng = random.Random(16)
    clock.at_local(day, 10, 30)
    for _round in range(3):
        for index in range(4, len(refs)):
            for member in (AGENCY, SECOND_AGENCY):
                client = clients[member]
                clearance = client.clear(
                    f"E-{refs[index]}", channel=ContactChannel.PHONE, number=numbers[refs[index]]
                )
                if clearance.granted:
                    client.record(clearance, connected=rng.random() < 0.55, attempted_at=clock())
                clock.advance(20)


def _show_decisions(context: DemoContext, sessions: dict[str, MemberSession], day: dt.date) -> None:
    table = Table("member", "decisions today (the member's own clearance log)", title="contact clearance")
    totals: Counter[ClearanceDecision] = Counter()
    for member, session in sessions.items():
        counts = ClearanceLog(session.store).counts(day)
        totals.update(counts)
        table.add_row(member, ", ".join(f"{d.value} {n}" for d, n in sorted(counts.items())))
    context.console.print(table)
    context.results["contact_decisions"] = {d.value: n for d, n in totals.items()}


@contextmanager
def _desk(context: DemoContext, clock: DemoClock) -> Iterator[RunningNode]:
    """A second bureau instance on the demo's clock, with the bureau's certificate and OPRF key."""
    bureau = context.consortium.bureau_settings
    folder = context.workdir / "contact-desk"
    shutil.copytree(oprf_key_folder(bureau), folder / "oprf")
    settings = dataclasses.replace(
        bureau, listen="127.0.0.1:0", data_dir=folder, store_url=f"sqlite:///{folder / 'store.db'}"
    )
    # The desk audits every decision like the bureau; its log lines would drown the demo's output.
    audit_logger = logging.getLogger("gateway.audit.recorder")
    level = audit_logger.level
    audit_logger.setLevel(logging.WARNING)
    node = start_bureau(settings, clock=clock)
    try:
        yield node
    finally:
        node.stop()
        audit_logger.setLevel(level)


def _second_agency(context: DemoContext) -> Settings:
    """agency-2: a dialer-only member provisioned with the demo CA, holding the members' secret.

    Its contact tags are keyed with the members' secret, which only the ceremony hands out
    (issue #11): its node runs once at the consortium's bureau, long enough to join the key log
    and to receive the current epoch, which bank-1 re-sends; then it stops.
    """
    authority = CertificateAuthority.load(context.workdir / "ca")
    plan = NodePlan(SECOND_AGENCY, Role.AGENCY, context.workdir / "nodes" / SECOND_AGENCY)
    plan.directory.mkdir(parents=True, exist_ok=True)
    lender = context.member_settings[LENDER]
    issued = context.clock() - dt.timedelta(days=1)
    settings = provision_node(
        authority,
        plan,
        bureau_address=context.consortium.bureau_address,
        heartbeat_seconds=1.0,
        now=issued,
        policies_dir=lender.policies_dir,
    )
    node = start_member(settings, clock=context.clock)
    try:
        assert node.link is not None
        if not node.link.registered.wait(60.0):
            raise UnavailableError(f"{SECOND_AGENCY} did not register with the bureau within 60 s")
        with member_session(lender, clock=context.clock) as session:
            epoch = session.secrets.current().epoch
            # Each try waits (trust_wait) for agency-2's keys to reach a co-signed key-log checkpoint.
            for _ in range(5):
                _, delivered, _ = run_ceremony(session, epoch=epoch)
                if SECOND_AGENCY in delivered:
                    break
                time.sleep(1.0)
            else:
                raise UnavailableError(f"the members' secret did not reach {SECOND_AGENCY}")
        context.console.print(
            f"  {SECOND_AGENCY} joined: members' secret epoch {epoch} re-sent to it by {LENDER}"
        )
    finally:
        node.stop()
    return settings


def _hand_over(sessions: dict[str, MemberSession], day: dt.date) -> list[str]:
    """The lender entrusts 60 delinquent accounts to both agencies and signs today's grants."""
    lender = sessions[LENDER]
    with lender.store.transaction() as session:
        rows = session.execute(
            sa.select(Account, Borrower)
            .join(Borrower, Borrower.id == Account.borrower_id)
            .where(
                Account.entrusted_by.is_(None),
                Account.status == AccountStatus.ACTIVE,
                Account.days_past_due > 0,
            )
            .order_by(Account.id)
            .limit(HANDED_OVER * 2)
        ).all()
        chosen: list[tuple[Account, Borrower]] = []
        seen: set[int] = set()
        for account, borrower in rows:
            if borrower.id not in seen and len(chosen) < HANDED_OVER:
                seen.add(borrower.id)
                chosen.append((account, borrower))
    refs = [account.account_ref for account, _ in chosen]
    registry = Entrustments(lender.store)
    for agency in (AGENCY, SECOND_AGENCY):
        _copy(sessions[agency].store, chosen, lender=LENDER, expires=day + dt.timedelta(days=90))
        for ref in refs:
            registry.entrust(
                ref, agency=agency, starts_on=day, expires_on=day + dt.timedelta(days=90), channels=CHANNELS,
                third_party_allowed=False,
            )  # fmt: skip
        grants = issue_grants(
            lender.store,
            lender.identity.own,
            agency=agency,
            days=[day],
            day_keys=lender.day_keys,
            tokeniser=lender.tokeniser,
            certificate_pem=lender.identity.cert_pem,
            key_pem=lender.identity.key_pem,
            now=lender.clock(),
        )
        target = sessions[agency]
        import_grants(
            target.store,
            target.identity.own,
            grants,
            ca_certificate_pem=target.identity.ca_pem,
            now=target.clock(),
        )
    return refs


def _copy(store: Store, chosen: list[tuple[Account, Borrower]], *, lender: str, expires: dt.date) -> None:
    """The agency's copies of the handed-over accounts (PIPL Art. 21 entrusted processing)."""
    with store.transaction() as session:
        for account, borrower in chosen:
            copy_ref = f"H-{lender}-{borrower.borrower_ref}"
            borrower_id = session.scalar(sa.select(Borrower.id).where(Borrower.borrower_ref == copy_ref))
            if borrower_id is None:
                values = _columns(borrower, Borrower) | {"borrower_ref": copy_ref}
                borrower_id = session.execute(
                    sa.insert(Borrower).values(values).returning(Borrower.id)
                ).scalar_one()
            values = _columns(account, Account) | {
                "account_ref": f"E-{account.account_ref}",
                "borrower_id": borrower_id,
                "entrusted_by": lender,
                "entrustment_expires_on": expires,
            }
            session.execute(sa.insert(Account).values(values))


def _columns(row: Account | Borrower, model: type[Account] | type[Borrower]) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key != "id"}


def _mobiles(store: Store, refs: list[str]) -> dict[str, str]:
    with store.transaction() as session:
        rows = session.execute(
            sa.select(Account.account_ref, Borrower.mobile)
            .join(Borrower, Borrower.id == Account.borrower_id)
            .where(Account.account_ref.in_(refs))
        )
        return {ref: mobile for ref, mobile in rows}


def _flag_dispute(session: MemberSession, ref: str, clock: DemoClock, day: dt.date) -> None:
    set_flag(
        session.store,
        session.identity.own,
        flag_ref="demo-dispute-1",
        kind=ContactFlagKind.DISPUTE,
        rules=session.contact_rules,
        account_ref=ref,
        number=None,
        provenance="debtor's letter disputing the amount",
        expires_on=day + dt.timedelta(days=30),
        agency=None,
        now=clock(),
    )
    session.flag_publisher().publish(day)
