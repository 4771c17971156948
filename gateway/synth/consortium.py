"""Orchestration: from options to a complete synthetic consortium.

:func:`generate_consortium` is pure given its options: every random draw comes
from a generator seeded with the seed and a purpose label, and no clock is
read. :func:`gateway.synth.writer.write_consortium` renders the result to disk.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from gateway.errors import InvalidInputError
from gateway.synth import accounts as accounts_mod
from gateway.synth import activity, contacts
from gateway.synth.accounts import Account
from gateway.synth.members import Composition, Member
from gateway.synth.people import Person, SeedPerson, build_people
from gateway.synth.records import AccountRecord, BorrowerRecord, Record
from gateway.synth.refs import RefBook
from gateway.synth.schemas import KINDS, Dialect, dialect_for
from gateway.synth.uci import load_dataset


@dataclass(frozen=True, slots=True)
class SynthOptions:
    """What to generate.

    Attributes
    ----------
    people
        Number of people, at least 1 and at most the number of UCI rows.
    seed
        Seed of every random draw.
    composition
        Members per role.
    as_of
        Reference date: ages, windows and expiries are relative to it.
    dataset
        UCI CSV; the repository's ``data/uci_taiwan_default.csv`` when ``None``.
    seed_pii
        People planted as the first persons.

    """

    people: int
    seed: int
    composition: Composition
    as_of: dt.date
    dataset: Path | None = None
    seed_pii: tuple[SeedPerson, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class MemberData:
    """Everything one member exports.

    Attributes
    ----------
    member
        The member.
    dialect
        Its column vocabulary.
    book
        Its references.
    records
        Records per kind, in file order.

    """

    member: Member
    dialect: Dialect
    book: RefBook
    records: dict[str, tuple[Record, ...]]


@dataclass(frozen=True, slots=True)
class ConsortiumResult:
    """A generated consortium.

    Attributes
    ----------
    options
        The options it was generated from.
    dataset_name, dataset_sha256
        File name and SHA-256 of the UCI data set used.
    people
        The population.
    accounts
        Lender accounts followed by agency copies.
    members
        Per-member exports, in member order.

    """

    options: SynthOptions
    dataset_name: str
    dataset_sha256: str
    people: tuple[Person, ...]
    accounts: tuple[Account, ...]
    members: tuple[MemberData, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """Return the number of rows per member and kind."""
        return {
            data.member.member_id: {kind: len(data.records[kind]) for kind in KINDS} for data in self.members
        }

    def lenders_per_person(self) -> list[int]:
        """Return, for each person, how many distinct lenders hold an account of theirs."""
        held: list[set[str]] = [set() for _ in self.people]
        for account in self.accounts:
            if account.entrusted_by is None:
                held[account.person_index].add(account.member_id)
        return [len(members) for members in held]

    @property
    def multi_lender_share(self) -> float:
        """Return the share of people with accounts at two or more lenders."""
        counts = self.lenders_per_person()
        return sum(1 for n in counts if n > 1) / max(len(counts), 1)


def generate_consortium(options: SynthOptions) -> ConsortiumResult:
    """Generate a consortium's people, accounts and activity.

    Parameters
    ----------
    options
        What to generate.

    Returns
    -------
    ConsortiumResult
        The same result, byte for byte once written, for the same options and data set.

    Raises
    ------
    InvalidInputError
        When the number of people is out of range or the composition is invalid.
    ConfigError
        When the data set cannot be read.

    """
    options.composition.validate()
    dataset = load_dataset(options.dataset)
    if not max(1, len(options.seed_pii)) <= options.people <= len(dataset.rows):
        raise InvalidInputError(
            f"expected between {max(1, len(options.seed_pii))} and {len(dataset.rows)} "
            f"people, received {options.people}",
            field="people",
        )

    def rng(purpose: str) -> random.Random:
        return random.Random(f"credgate-synth/{options.seed}/{purpose}")

    rows = list(dataset.rows)
    rng("rows").shuffle(rows)
    people = build_people(rng("people"), rows[: options.people], as_of=options.as_of, seeds=options.seed_pii)
    members = options.composition.members()
    lenders = tuple(m for m in members if m.role.is_lender)
    agencies = tuple(m for m in members if not m.role.is_lender)
    held = accounts_mod.allocate_accounts(
        rng("accounts"), people, lenders, rows[options.people :], as_of=options.as_of
    )
    copies = accounts_mod.entrust(rng("entrust"), held, lenders, agencies, as_of=options.as_of)
    everything = held + copies
    dialects = {m.member_id: dialect_for(m) for m in members}
    books = {m.member_id: RefBook(dialects[m.member_id], rng(f"refs/{m.member_id}")) for m in members}

    apps = activity.applications(rng("applications"), people, held, lenders, books, as_of=options.as_of)
    for member in members:
        mine = [a for a in everything if a.member_id == member.member_id]
        books[member.member_id].assign_borrowers(
            [a.person_index for a in mine] + [r.person_index for r in apps.get(member.member_id, [])]
        )
        books[member.member_id].assign_accounts(mine)
    listings = activity.blacklist(rng("blacklist"), held, books, as_of=options.as_of)
    grants = activity.consents(rng("consents"), everything, apps, books, as_of=options.as_of)
    attempts = contacts.contacts(rng("contacts"), people, everything, books, as_of=options.as_of)

    exports = []
    for member in members:
        member_id = member.member_id
        book = books[member_id]
        records: dict[str, tuple[Record, ...]] = {
            "borrowers": tuple(BorrowerRecord(people[i]) for i in book.person_indices),
            "accounts": tuple(AccountRecord(a) for a in everything if a.member_id == member_id),
            "applications": tuple(apps.get(member_id, ())),
            "contacts": tuple(attempts.get(member_id, ())),
            "blacklist": tuple(listings.get(member_id, ())),
            "consents": tuple(grants.get(member_id, ())),
        }
        exports.append(MemberData(member, dialects[member_id], book, records))
    return ConsortiumResult(
        options=options,
        dataset_name=(options.dataset.name if options.dataset else "uci_taiwan_default.csv"),
        dataset_sha256=dataset.sha256,
        people=people,
        accounts=tuple(everything),
        members=tuple(exports),
    )
