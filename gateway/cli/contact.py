"""``credgate contact``: clear a collection contact, record its outcome, set flags, entrust accounts.

``clear`` exits 0 when the contact is granted and 90 (``CONTACT_REFUSED``) with the rule that
refused it otherwise, so a dialer script can branch on the exit code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.exit_codes import ExitCode
from gateway.clock import local_date, system_clock
from gateway.config import Settings
from gateway.errors import InvalidInputError
from gateway.store.enums import ContactChannel, ContactFlagKind, ContactParty

app = typer.Typer(help="Consortium-wide contact clearance for collection.", no_args_is_help=True)
flag_app = typer.Typer(
    help="Flags that stop contact (dispute, do-not-contact, deceased...).", no_args_is_help=True
)
app.add_typer(flag_app, name="flag")
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(width=140)


@app.command("clear")
def clear(
    config: ConfigOption,
    account_ref: Annotated[str, typer.Option("--account-ref", help="The account in this member's store.")],
    channel: Annotated[
        ContactChannel, typer.Option(help="phone, sms, ai_voice, visit, letter, app_message.")
    ],
    number: Annotated[str | None, typer.Option(help="Number to call or text (stays on this node).")] = None,
    party: Annotated[ContactParty, typer.Option(help="debtor or third_party.")] = ContactParty.DEBTOR,
    collectors: Annotated[int, typer.Option(help="Collectors attending a visit.")] = 1,
) -> None:
    """Ask whether a contact may happen now; a grant reserves the slot until it expires."""
    from gateway.node.session import member_session

    with member_session(Settings.from_file(config)) as session:
        clearance = session.contact_clearance().clear(
            account_ref, channel=channel, number=number, party=party, collectors=collectors
        )
    answer = clearance.answer
    if clearance.granted:
        assert answer.reservation_id is not None and answer.expires_at is not None
        reservation = answer.reservation_id.hex()
        _console.print(
            f"granted: reservation {reservation} until {answer.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
            f"record the outcome with `credgate contact record --reservation {reservation}`"
        )
        return
    retry = f"; retry after {answer.retry_after:%Y-%m-%d %H:%M:%S} UTC" if answer.retry_after else ""
    _console.print(f"refused: {answer.decision.value}{retry}")
    raise typer.Exit(ExitCode.CONTACT_REFUSED)


@app.command("record")
def record(
    config: ConfigOption,
    reservation: Annotated[str, typer.Option(help="Reservation id printed by `contact clear` (hex).")],
    connected: Annotated[
        bool, typer.Option("--connected/--unanswered", help="Whether the debtor answered.")
    ] = False,
    released: Annotated[bool, typer.Option("--released", help="The contact was not made.")] = False,
    attempted_at: Annotated[str | None, typer.Option(help="ISO time of the attempt (default: now).")] = None,
) -> None:
    """Settle a granted contact with its outcome (it counts once, however often it is sent)."""
    from gateway.node.session import member_session

    try:
        reservation_id = bytes.fromhex(reservation)
    except ValueError:
        raise InvalidInputError("expected the hex reservation id", field="reservation") from None
    when = _instant(attempted_at) if attempted_at else system_clock()
    with member_session(Settings.from_file(config)) as session:
        answer = session.contact_clearance().settle(
            reservation_id, connected=connected, released=released, attempted_at=None if released else when
        )
    state = "released" if released else "connected" if connected else "unanswered"
    notes = (
        " (already recorded)"
        if answer.already_recorded
        else " (late: after the reservation expired)"
        if answer.late
        else ""
    )
    _console.print(f"recorded {reservation}: {state}{notes}")


@flag_app.command("set")
def flag_set(
    config: ConfigOption,
    ref: Annotated[str, typer.Option(help="This member's reference for the flag.")],
    kind: Annotated[
        ContactFlagKind,
        typer.Option(help="dispute, do_not_contact, deceased, third_party_refused, entrustment_ended."),
    ],
    provenance: Annotated[
        str, typer.Option(help="Where it comes from: letter, court notice, call reference.")
    ],
    until: Annotated[str, typer.Option(help="Last day the flag stands (YYYY-MM-DD, local).")],
    account_ref: Annotated[
        str | None, typer.Option("--account-ref", help="The flagged debtor's account.")
    ] = None,
    number: Annotated[str | None, typer.Option(help="third_party_refused: the third party's number.")] = None,
    agency: Annotated[str | None, typer.Option(help="entrustment_ended: the agency.")] = None,
) -> None:
    """Set a flag here and publish today's flags to the bureau (as keyed tags only)."""
    from gateway.contact.flags import set_flag
    from gateway.node.session import member_session

    with member_session(Settings.from_file(config)) as session:
        flag = set_flag(
            session.store,
            session.identity.own,
            flag_ref=ref,
            kind=kind,
            rules=session.contact_rules,
            account_ref=account_ref,
            number=number,
            provenance=provenance,
            expires_on=_date(until, field="until"),
            agency=agency,
            now=session.clock(),
        )
        sent = _publish(session)
    scope = f"{flag.scope_lender}'s collection" if flag.scope_lender else "all collection"
    _console.print(f"flag {ref} ({kind.value}) stops {scope} until {flag.expires_on}; published {sent} tags")


@flag_app.command("lift")
def flag_lift(config: ConfigOption, ref: Annotated[str, typer.Option(help="The flag's reference.")]) -> None:
    """Lift a standing flag and publish today's flags again."""
    from gateway.node.session import member_session
    from gateway.store.repositories.contact_member import ContactFlags

    with member_session(Settings.from_file(config)) as session:
        ContactFlags(session.store).lift(ref, at=session.clock())
        sent = _publish(session)
    _console.print(f"flag {ref} lifted; published {sent} tags")


@flag_app.command("list")
def flag_list(config: ConfigOption) -> None:
    """Every flag this member set, with its provenance and expiry."""
    from gateway.store.database import open_store
    from gateway.store.repositories.contact_member import ContactFlags

    store = open_store(Settings.from_file(config).store_url)
    try:
        flags = ContactFlags(store).all()
    finally:
        store.close()
    table = Table(
        "ref", "kind", "scope", "set by", "provenance", "until", "lifted", title=f"{len(flags)} flags"
    )
    for f in flags:
        table.add_row(
            f.flag_ref,
            f.kind.value,
            f.scope_lender or "consortium",
            f.set_by_member_id,
            f.provenance,
            str(f.expires_on),
            f"{f.lifted_at:%Y-%m-%d %H:%M}" if f.lifted_at else "-",
        )
    _console.print(table)


@app.command("entrust")
def entrust(
    config: ConfigOption,
    agency: Annotated[str, typer.Option(help="The agency's member id.")],
    until: Annotated[str, typer.Option(help="Last day of the entrustment (YYYY-MM-DD).")],
    account_ref: Annotated[list[str], typer.Option("--account-ref", help="Own account(s) entrusted.")],
    channels: Annotated[
        str, typer.Option(help="Comma-separated channels the agency may use.")
    ] = "phone,sms,ai_voice",
    third_party: Annotated[bool, typer.Option("--third-party/--no-third-party")] = False,
) -> None:
    """A lender records accounts it entrusts to an agency (PIPL Art. 21)."""
    from gateway.store.database import open_store
    from gateway.store.repositories.contact_member import Entrustments

    chosen = [ContactChannel(c.strip()) for c in channels.split(",") if c.strip()]
    store = open_store(Settings.from_file(config).store_url)
    try:
        for ref in account_ref:
            Entrustments(store).entrust(
                ref,
                agency=agency,
                starts_on=local_date(system_clock()),
                expires_on=_date(until, field="until"),
                channels=chosen,
                third_party_allowed=third_party,
            )
    finally:
        store.close()
    _console.print(f"{len(account_ref)} accounts entrusted to {agency} until {until}")


@app.command("grants")
def grants(
    config: ConfigOption,
    agency: Annotated[str, typer.Option(help="The agency's member id.")],
    out: Annotated[Path, typer.Option(help="The grants file to hand to the agency.")],
    days: Annotated[int, typer.Option(help="Days ahead, today included.", min=1, max=92)] = 7,
) -> None:
    """A lender signs the day-by-day grants its agency presents when clearing entrusted debtors."""
    from gateway.contact.entrustments import grants_payload, issue_grants
    from gateway.node.session import member_session

    with member_session(Settings.from_file(config)) as session:
        today = local_date(session.clock())
        signed = issue_grants(
            session.store,
            session.identity.own,
            agency=agency,
            days=[today + dt.timedelta(days=n) for n in range(days)],
            day_keys=session.day_keys,
            tokeniser=session.tokeniser,
            certificate_pem=session.identity.cert_pem,
            key_pem=session.identity.key_pem,
            now=session.clock(),
        )
        payload = grants_payload(signed, lender=session.identity.own.member_id, agency=agency)
        session.egress.files.write_json(out, payload, kind="contact_grants")
    _console.print(f"{len(signed)} grants for {agency} over {days} days written to {out}")


@app.command("import-grants")
def import_grants_command(
    config: ConfigOption, file: Annotated[Path, typer.Argument(help="A grants file from `contact grants`.")]
) -> None:
    """An agency verifies and keeps the grants its lender issued."""
    from gateway.contact.entrustments import import_grants, read_grants_file
    from gateway.node.session import member_session

    with member_session(Settings.from_file(config)) as session:
        kept = import_grants(
            session.store,
            session.identity.own,
            read_grants_file(file),
            ca_certificate_pem=session.identity.ca_pem,
            now=session.clock(),
        )
    _console.print(f"{kept} grants verified and kept")


def _publish(session: object) -> int:
    from gateway.node.session import MemberSession

    assert isinstance(session, MemberSession)
    publisher = session.flag_publisher()
    rules = session.contact_rules
    now = session.clock()
    today = local_date(now)
    sent = publisher.publish(today)
    if now.astimezone(rules.zone).hour >= rules.bureau.publish_next_day_from_hour:
        sent += publisher.publish(today + dt.timedelta(days=1))
    return sent


def _date(value: str, *, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("expected YYYY-MM-DD", field=field) from None


def _instant(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("expected an ISO 8601 time", field="attempted_at") from None
    if moment.tzinfo is None:
        raise InvalidInputError("expected a time with its UTC offset", field="attempted_at")
    return moment


def register(root: typer.Typer) -> None:
    """Add the ``contact`` command group to ``root``."""
    root.add_typer(app, name="contact")
