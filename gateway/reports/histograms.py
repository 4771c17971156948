"""One member's histogram vectors for a report template and period, from its own store.

This runs inside the member; the vectors get noise shares (``noise.py``) and are masked
(``gateway.aggregation``) before they leave. Contribution bounding happens here, per
person and per member (the privacy unit is one person, issue #13):

1. each feed yields *observations* ``(borrower or subject, {dimension: value})``;
2. each observation is keyed by the person's token (``PersonKeys``): two borrower rows of
   one resident ID are one person; a person without a token, or one the holders count says
   is held at more members than the release allows, is left out;
3. each observation maps to one cell (observations whose value has no cell are dropped);
4. a person's cells are de-duplicated and each is clipped to ``contribution_bound``;
5. a person entering more than ``max_cells_per_borrower`` cells keeps the first ones
   in slot order (deterministic, independent of other persons).

The store is a snapshot of the book. The period of the snapshot itself uses the accounts'
current days past due; an earlier period (up to the repayment history's depth, 6 months)
uses the account's repayment status of that month (UCI layout: status ``k >= 1`` means
``k`` months late, entered as ``30·(k−1)+1`` days so that it lands in the matching bucket).
Only lenders' own accounts count as debt: an agency holds copies of entrusted accounts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from gateway.errors import ConfigError, InvalidInputError
from gateway.policy.contact_rules import ContactRules
from gateway.reports.conduct_feeds import CONDUCT_FEEDS, conduct_observations
from gateway.reports.templates import Feed, HistogramSpec, ReportTemplate
from gateway.roles import Role
from gateway.store.database import Store
from gateway.store.enums import AccountStatus
from gateway.store.models import Account, Application, Borrower, ContactAttempt, Inquiry, RepaymentMonth

__all__ = [
    "Counts",
    "Observation",
    "Period",
    "PersonKeys",
    "active_borrowers",
    "collect_observations",
    "compute_histograms",
    "histogram_from_observations",
    "persons_counted",
]

Counts = npt.NDArray[np.int64]
"""A flat (row-major) histogram vector of one member."""
HISTORY_MONTHS = 6
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    """A calendar month, ``YYYY-MM``, evaluated in the template's time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, unverified_period: str) -> Period:
        """Parse ``YYYY-MM``.

        Raises
        ------
        InvalidInputError
            When the text is not a month in that form.

        """
        match = _PERIOD.match(unverified_period)
        if match is None:
            raise InvalidInputError(f"expected YYYY-MM, received {unverified_period!r}", field="period")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: dt.datetime, zone: dt.tzinfo) -> Period:
        """The month ``moment`` falls in, in ``zone``."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def before(self, months: int = 1) -> Period:
        """The month ``months`` calendar months before this one."""
        index = self.year * 12 + self.month - 1 - months
        return Period(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        """First day of the month."""
        return dt.date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> dt.date:
        """First day of the following month."""
        return dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def bounds(self, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """Half-open ``[start, end)`` instants of the month in ``zone``."""
        start = dt.datetime.combine(self.first_day, dt.time(), tzinfo=zone)
        return start, dt.datetime.combine(self.next_first_day, dt.time(), tzinfo=zone)

    def months_before(self, other: Period) -> int:
        """How many months this period lies before ``other`` (negative when after)."""
        return (other.year - self.year) * 12 + other.month - self.month


@dataclass(frozen=True)
class Observation:
    """One fact about one borrower, before it is mapped to a cell."""

    borrower: object
    values: Mapping[str, str | int | Decimal]


@dataclass(frozen=True)
class PersonKeys:
    """How a member names persons: its borrowers' tokens, and which persons a release may count."""

    token_of_borrower: Mapping[int, bytes]
    allowed: Callable[[bytes], bool] = lambda _token: True

    def person(self, subject: object) -> bytes | None:
        """The token of an observation's subject (a local borrower id, or a token already)."""
        if isinstance(subject, bytes):
            return subject
        if isinstance(subject, int):
            return self.token_of_borrower.get(subject)
        raise InvalidInputError(f"unexpected subject {type(subject).__name__}", field="subject")


def compute_histograms(
    store: Store,
    template: ReportTemplate,
    period: Period,
    *,
    role: Role,
    snapshot_period: Period,
    persons: PersonKeys,
    contact_rules: ContactRules | None = None,
    as_of: dt.datetime | None = None,
) -> dict[str, Counts]:
    """Every histogram of ``template`` for ``period``, from this member's own store.

    Parameters
    ----------
    store
        The member's store.
    template
        The report template.
    period
        The month reported on.
    role
        The member's certificate role: only lenders report debt and applications.
    snapshot_period
        The month the store's current figures (days past due, balances) describe.
    persons
        The persons' tokens and which of them may be counted.
    contact_rules
        Quiet hours and caps; needed when the template has a contact-violation histogram.
    as_of
        When the report is made: complaints are judged against their clocks at the earlier of
        this and the end of the period (default: the end of the period).

    Returns
    -------
    dict[str, Counts]
        Histogram id → flat bounded count vector (``int64``, length ``template.width``). The
        lenders-per-borrower histogram is zero here: it comes from the holders count.

    Raises
    ------
    InvalidInputError
        When ``period`` lies after the snapshot or deeper than the repayment history.

    """
    feeds = collect_observations(
        store,
        template,
        period,
        role=role,
        snapshot_period=snapshot_period,
        contact_rules=contact_rules,
        persons=persons,
        as_of=as_of,
    )
    keyed = {feed: list(_keyed(observations, persons)) for feed, observations in feeds.items()}
    return {
        histogram.id: histogram_from_observations(template, histogram, keyed[histogram.feed])
        for histogram in template.histograms
    }


def persons_counted(
    store: Store,
    template: ReportTemplate,
    period: Period,
    *,
    role: Role,
    snapshot_period: Period,
    persons: PersonKeys,
    contact_rules: ContactRules | None = None,
    as_of: dt.datetime | None = None,
) -> dict[bytes, bool]:
    """Every person this member would count in ``template``, and whether it lends to them.

    The holders count adds each of these once (and separately counts the lenders with active
    debt, for the lenders-per-borrower histogram). A person without a token is not named here
    and is never counted.
    """
    feeds = collect_observations(
        store,
        template,
        period,
        role=role,
        snapshot_period=snapshot_period,
        contact_rules=contact_rules,
        persons=persons,
        as_of=as_of,
    )
    counted: dict[bytes, bool] = {}
    for observations in feeds.values():
        for observation in observations:
            token = persons.person(observation.borrower)
            if token is not None:
                counted.setdefault(token, False)
    if role.is_lender and template.uses_holders_of_debt:
        for borrower in active_borrowers(store, period, snapshot_period=snapshot_period):
            token = persons.token_of_borrower.get(borrower)
            if token is not None:
                counted[token] = True
    return counted


def collect_observations(
    store: Store,
    template: ReportTemplate,
    period: Period,
    *,
    role: Role,
    snapshot_period: Period,
    persons: PersonKeys,
    contact_rules: ContactRules | None = None,
    as_of: dt.datetime | None = None,
) -> dict[Feed, list[Observation]]:
    """Every feed's observations for ``period`` from this member's store, keyed by person token.

    A person's rows (two borrower records of one resident ID) are grouped before the values
    are taken: the worst days past due and the total balance are the person's, per segment.
    The conduct feeds count only what concerns a borrower of this member (a person with a
    token); ``as_of`` is when complaints' clocks are read (default: the end of the period).

    Raises
    ------
    InvalidInputError
        When ``period`` lies after the snapshot or deeper than the repayment history.
    ConfigError
        When a contact histogram has no contact rules.

    """
    back = _months_back(period, snapshot_period)
    start, end = period.bounds(template.zone)
    feeds: dict[Feed, list[Observation]] = {}
    with store.transaction() as session:
        for feed in {histogram.feed for histogram in template.histograms}:
            if feed is Feed.ACTIVE_DEBT:
                rows = _debt_rows(session, period, back) if role.is_lender else []
                feeds[feed] = list(_debt_observations(rows, persons))
            elif feed is Feed.APPLICATIONS_BY_DECISION:
                feeds[feed] = (
                    list(_application_observations(session, start, end, persons)) if role.is_lender else []
                )
            elif feed is Feed.LENDERS_PER_BORROWER:
                feeds[feed] = []  # From the holders count (phase 3); not a per-member count.
            elif feed is Feed.CONTACT_VIOLATIONS:
                if contact_rules is None:
                    raise ConfigError(f"template {template.template_id} needs the contact rules")
                feeds[feed] = list(_contact_observations(session, start, end, contact_rules, persons))
            elif feed in CONDUCT_FEEDS:
                feeds[feed] = list(_conduct_observations(feed, store, start, end, as_of=as_of or end))
            else:
                feeds[feed] = list(_inquiry_observations(session, start, end))
    return feeds


def _keyed(observations: Iterable[Observation], persons: PersonKeys) -> Iterator[Observation]:
    """Observations keyed by person token; persons without a token or not allowed are left out."""
    for observation in observations:
        token = persons.person(observation.borrower)
        if token is not None and persons.allowed(token):
            yield Observation(token, observation.values)


def active_borrowers(store: Store, period: Period, *, snapshot_period: Period) -> list[int]:
    """Local ids of the borrowers with active debt in ``period`` (as counted in ``active_debt``).

    Raises
    ------
    InvalidInputError
        When ``period`` lies after the snapshot or deeper than the repayment history.

    """
    back = _months_back(period, snapshot_period)
    with store.transaction() as session:
        return sorted({row[0] for row in _debt_rows(session, period, back)})


def _months_back(period: Period, snapshot_period: Period) -> int:
    back = period.months_before(snapshot_period)
    if back < 0 or back > HISTORY_MONTHS:
        raise InvalidInputError(
            f"expected a month from {HISTORY_MONTHS} months before the snapshot {snapshot_period} "
            f"up to the snapshot, received {period}",
            field="period",
        )
    return back


def histogram_from_observations(
    template: ReportTemplate, histogram: HistogramSpec, observations: Iterable[Observation]
) -> Counts:
    """Map observations to cells and bound each borrower's contribution (steps 2–4 above).

    Returns
    -------
    Counts
        The flat histogram; no borrower adds more than ``contribution_bound`` to a cell or
        enters more than ``max_cells_per_borrower`` cells.

    """
    dimensions = [template.dimensions[name] for name in histogram.dimensions]
    shape = template.shape(histogram)
    per_borrower: dict[object, dict[int, int]] = defaultdict(dict)
    for observation in observations:
        slots: list[int] = []
        for name, dimension in zip(histogram.dimensions, dimensions, strict=True):
            value = observation.values[name]
            slot = (
                dimension.bucket(float(value))
                if dimension.lower_bounds is not None
                else dimension.slot(str(value))
            )
            if slot is None:
                break
            slots.append(slot)
        else:
            cell = int(np.ravel_multi_index(tuple(slots), shape))
            cells = per_borrower[observation.borrower]
            cells[cell] = min(cells.get(cell, 0) + 1, histogram.contribution_bound)
    counts = np.zeros(template.width(histogram), dtype=np.int64)
    for cells in per_borrower.values():
        for cell in sorted(cells)[: histogram.max_cells_per_borrower]:
            counts[cell] += cells[cell]
    return counts


_DebtRow = tuple[int, str, str, Decimal, int]


def _debt_rows(session: sa.orm.Session, period: Period, back: int) -> list[_DebtRow]:
    last_day = period.next_first_day - dt.timedelta(days=1)
    own_active = (
        Account.status == AccountStatus.ACTIVE,
        Account.entrusted_by.is_(None),
        Account.opened_on <= last_day,
    )
    if back == 0:
        statement = (
            sa.select(
                Account.borrower_id,
                Account.segment,
                Borrower.province,
                Account.outstanding,
                Account.days_past_due,
            )
            .join(Borrower, Borrower.id == Account.borrower_id)
            .where(*own_active)
        )
        return [(b, s.value, p, o, d) for b, s, p, o, d in session.execute(statement)]
    # An earlier month: that month's statement balance and repayment status.
    history = (
        sa.select(
            Account.borrower_id,
            Account.segment,
            Borrower.province,
            RepaymentMonth.statement_balance,
            RepaymentMonth.repayment_status,
        )
        .join(Borrower, Borrower.id == Account.borrower_id)
        .join(RepaymentMonth, RepaymentMonth.account_id == Account.id)
        .where(*own_active, RepaymentMonth.months_ago == back)
    )
    return [
        (b, s.value, p, max(balance, Decimal(0)), _status_to_dpd(status))
        for b, s, p, balance, status in session.execute(history)
    ]


def _status_to_dpd(status: int) -> int:
    # UCI "default of credit card clients": -2, -1, 0 paid duly or no consumption; k >= 1 is
    # a payment delay of k months. k months late lands in the (30(k-1), 30k] days bucket.
    return 30 * (status - 1) + 1 if status >= 1 else 0


def _debt_observations(rows: Iterable[_DebtRow], persons: PersonKeys) -> Iterator[Observation]:
    worst: dict[tuple[bytes, str], int] = {}
    total: dict[tuple[bytes, str], Decimal] = defaultdict(Decimal)
    province: dict[bytes, str] = {}
    for row_borrower, segment, place, outstanding, dpd in rows:
        borrower = persons.token_of_borrower.get(row_borrower)
        if borrower is None:
            continue  # no token: the person cannot be bounded across members
        key = (borrower, segment)
        worst[key] = max(worst.get(key, 0), dpd)
        total[key] += outstanding
        province[borrower] = min(place, province.get(borrower, place))
    for (borrower, segment), dpd in worst.items():
        yield Observation(
            borrower,
            {
                "segment": segment,
                "province": province[borrower],
                "dpd_bucket": dpd,
                "outstanding_bucket": total[(borrower, segment)],
            },
        )


def _application_observations(
    session: sa.orm.Session, start: dt.datetime, end: dt.datetime, persons: PersonKeys
) -> Iterator[Observation]:
    statement = (
        sa.select(
            Application.borrower_id,
            Application.segment,
            Application.decision,
            Application.applied_at,
            Borrower.province,
        )
        .join(Borrower, Borrower.id == Application.borrower_id)
        .where(Application.applied_at >= start, Application.applied_at < end)
        .order_by(Application.applied_at, Application.id)
    )
    latest: dict[tuple[bytes, str], tuple[str, str]] = {}
    for row_borrower, segment_enum, decision_enum, _applied_at, place in session.execute(statement):
        borrower = persons.token_of_borrower.get(row_borrower)
        if borrower is not None:
            latest[(borrower, segment_enum.value)] = (decision_enum.value, place)
    for (borrower, segment), (decision, place) in latest.items():
        yield Observation(borrower, {"segment": segment, "decision": decision, "province": place})


def _inquiry_observations(
    session: sa.orm.Session, start: dt.datetime, end: dt.datetime
) -> Iterator[Observation]:
    statement = (
        sa.select(Inquiry.subject_token, Inquiry.reason_code)
        .where(Inquiry.queried_at >= start, Inquiry.queried_at < end)
        .distinct()
    )
    for token, reason in session.execute(statement):
        yield Observation(token, {"reason_code": reason.value})


def _conduct_observations(
    feed: Feed, store: Store, start: dt.datetime, end: dt.datetime, *, as_of: dt.datetime
) -> Iterator[Observation]:
    """The conduct feeds' observations about a borrower (keyed by local id, then by person).

    An observation with no borrower (a complaint or a screened source no account is known
    for) cannot be bounded per person, so it is left out like a borrower without a token.
    """
    for borrower, values in conduct_observations(feed, store, start, end, as_of=as_of):
        if borrower is not None:
            yield Observation(borrower, values)


def _contact_observations(
    session: sa.orm.Session, start: dt.datetime, end: dt.datetime, rules: ContactRules, persons: PersonKeys
) -> Iterator[Observation]:
    statement = (
        sa.select(
            Account.borrower_id,
            ContactAttempt.attempted_at,
            ContactAttempt.channel,
            ContactAttempt.contact_number,
            ContactAttempt.connected,
        )
        .join(Account, Account.id == ContactAttempt.account_id)
        .where(ContactAttempt.attempted_at >= start, ContactAttempt.attempted_at < end)
    )
    broken: set[tuple[bytes, str]] = set()
    connected_calls: Counter[tuple[bytes, dt.date]] = Counter()
    unanswered: Counter[tuple[bytes, str, dt.date]] = Counter()
    for row_borrower, attempted_at, channel, number, connected in session.execute(statement):
        borrower = persons.token_of_borrower.get(row_borrower)
        if borrower is None:
            continue
        local = attempted_at.astimezone(rules.zone)
        if rules.in_quiet_hours(local.hour):
            broken.add((borrower, "quiet_hours"))
        if connected and channel in rules.call_channels:
            connected_calls[(borrower, local.date())] += 1
        if not connected and number is not None:
            unanswered[(borrower, number, local.date())] += 1
    broken.update(
        (borrower, "connected_call_cap")
        for (borrower, _), calls in connected_calls.items()
        if calls > rules.connected_calls_per_debtor_per_day
    )
    broken.update(
        (borrower, "unanswered_attempt_cap")
        for (borrower, _, _), attempts in unanswered.items()
        if attempts > rules.unanswered_attempts_per_number_per_day
    )
    for borrower, rule in sorted(broken):
        yield Observation(borrower, {"contact_rule": rule})
