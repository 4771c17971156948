"""An in-process consortium for contact clearance: a bureau on a clock the test moves, two
lenders and three agencies, each with a small book; the lender entrusts its debtors to two of
the agencies and hands them signed grants. The members' secret that keys the contact tags is
made by the real ceremony (issue #11) before the test day.

The clock starts at 10:00 local time on the day after today (derived from the system clock):
certificates issued now are valid then, and the rules never see today's real hour.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from contact_book import BookPerson, load_book, people
from members_ceremony import hand_out_members_secret, quick_checkpoints

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.config import Settings, default_policies_dir
from gateway.contact.client import ContactClearanceClient
from gateway.contact.entrustments import import_grants, issue_grants
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.identity.peer import Role
from gateway.node.runtime import RunningNode, start_bureau
from gateway.node.session import MemberSession, member_session
from gateway.store.enums import ContactChannel
from gateway.store.repositories.contact_member import Entrustments

from ..recording import RecordingInterceptor

PEOPLE = 40
LENDER = "bank-1"
OTHER_LENDER = "bank-2"
AGENCIES = ("agency-1", "agency-2")
UNENTRUSTED_AGENCY = "agency-3"


@dataclass
class FakeClock:
    """The one clock of the bureau and every member in the test; moved by the test.

    It reads the system clock until the test first sets it (the members' secret ceremony runs
    then, on real time, as it would before the test day).
    """

    now: dt.datetime | None = None

    def __call__(self) -> dt.datetime:
        return system_clock() if self.now is None else self.now

    def set_local(self, day: dt.date, hour: int, minute: int = 0, second: int = 0) -> None:
        self.now = dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=LOCAL_ZONE).astimezone(
            dt.UTC
        )

    def advance(self, **delta: float) -> None:
        self.now = self() + dt.timedelta(**delta)


@dataclass
class ContactWorld:
    bureau: RunningNode
    clock: FakeClock
    day: dt.date
    persons: list[BookPerson]
    sessions: dict[str, MemberSession]
    settings: dict[str, Settings]
    recorder: RecordingInterceptor
    # The members' secret epoch the ceremony made (contact tags are keyed with it).
    secret_epoch: int
    clients: dict[str, ContactClearanceClient] = field(default_factory=dict)

    def client(self, member_id: str) -> ContactClearanceClient:
        return self.clients[member_id]

    def ref(self, member_id: str, person: int) -> str:
        return self.persons[person].account_ref(member_id)

    def issue_grants(self, agency: str, days: list[dt.date]) -> int:
        lender = self.sessions[LENDER]
        grants = issue_grants(
            lender.store,
            lender.identity.own,
            agency=agency,
            days=days,
            day_keys=lender.day_keys,
            tokeniser=lender.tokeniser,
            certificate_pem=lender.identity.cert_pem,
            key_pem=lender.identity.key_pem,
            now=self.clock(),
        )
        session = self.sessions[agency]
        return import_grants(
            session.store,
            session.identity.own,
            grants,
            ca_certificate_pem=session.identity.ca_pem,
            now=self.clock(),
        )


@pytest.fixture(scope="module")
def module_provision(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """Provisioning shared by a test module (one CA, one node folder per member)."""
    folder = tmp_path_factory.mktemp("contact")
    authority = provision_ca(folder / "ca", now=system_clock())
    policies = folder / "policies"
    shutil.copytree(default_policies_dir(), policies)
    quick_checkpoints(policies)

    def make(member_id: str, role: Role, *, bureau_address: str | None = None) -> Settings:
        plan = NodePlan(member_id, role, folder / "nodes" / member_id)
        plan.directory.mkdir(parents=True)
        return provision_node(
            authority,
            plan,
            bureau_address=bureau_address,
            heartbeat_seconds=0.2,
            now=system_clock(),
            policies_dir=policies,
        )

    return make


@pytest.fixture
def contact_world(module_world: ContactWorld) -> ContactWorld:
    """The module's world with its clock back at 10:00 local on the test day.

    Each test works on its own debtors (by index), so the counters of one test do not
    reach another's.
    """
    module_world.clock.set_local(module_world.day, 10)
    return module_world


@pytest.fixture(scope="module")
def module_world(module_provision: Callable[..., Settings]) -> Iterator[ContactWorld]:
    provision = module_provision
    day = local_date(system_clock()) + dt.timedelta(days=1)
    clock = FakeClock()
    recorder = RecordingInterceptor()
    bureau = start_bureau(provision(BUREAU_ID, Role.BUREAU), clock=clock, interceptors=[recorder])
    roles = {
        LENDER: Role.BANK,
        OTHER_LENDER: Role.BANK,
        **{a: Role.AGENCY for a in (*AGENCIES, UNENTRUSTED_AGENCY)},
    }
    settings = {m: provision(m, r, bureau_address=bureau.address) for m, r in roles.items()}
    persons = people(PEOPLE, seed=3)
    try:
        secret_epoch = hand_out_members_secret(list(settings.values()))
    except BaseException:
        bureau.stop()
        raise
    clock.set_local(day, 10)
    with ExitStack() as stack:
        sessions = {m: stack.enter_context(member_session(s, clock=clock)) for m, s in settings.items()}
        load_book(sessions[LENDER].store, LENDER, persons, now=clock())
        load_book(sessions[OTHER_LENDER].store, OTHER_LENDER, persons[: PEOPLE // 2], now=clock())
        for agency in (*AGENCIES, UNENTRUSTED_AGENCY):
            load_book(
                sessions[agency].store,
                agency,
                persons,
                now=clock(),
                entrusted_by=LENDER,
                entrustment_expires_on=day + dt.timedelta(days=30),
            )
        world = ContactWorld(bureau, clock, day, persons, sessions, settings, recorder, secret_epoch)
        world.clients = {m: s.contact_clearance(retry_seconds=30.0) for m, s in sessions.items()}
        registry = Entrustments(sessions[LENDER].store)
        for agency in AGENCIES:
            for person in persons:
                registry.entrust(
                    person.account_ref(LENDER),
                    agency=agency,
                    starts_on=day,
                    expires_on=day + dt.timedelta(days=30),
                    channels=[
                        ContactChannel.PHONE,
                        ContactChannel.SMS,
                        ContactChannel.AI_VOICE,
                        ContactChannel.VISIT,
                    ],
                    third_party_allowed=agency == AGENCIES[0],
                )
            world.issue_grants(agency, [day, day + dt.timedelta(days=1)])
        try:
            yield world
        finally:
            bureau.stop()
