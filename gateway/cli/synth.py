"""``credgate synth``: write a synthetic consortium's per-member import files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.clock import local_date, system_clock
from gateway.errors import InvalidInputError
from gateway.synth import (
    Composition,
    ConsortiumResult,
    SynthOptions,
    generate_consortium,
    load_seed_pii,
    write_consortium,
)

DEFAULT_MEMBERS = 5


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the CLI application.

    Parameters
    ----------
    app
        The Typer application to extend.

    """
    app.command("synth")(synth)


def synth(
    out: Annotated[Path, typer.Option("--out", help="Output directory (created; files overwritten).")],
    people: Annotated[int, typer.Option("--people", min=1, help="Number of synthetic people.")] = 2000,
    members: Annotated[
        int | None,
        typer.Option(
            "--members",
            help="Number of members (≥ 3): one agency, one consumer-finance company, the rest "
            "banks. Default 5.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random draw.")] = 0,
    composition: Annotated[
        str | None,
        typer.Option(
            "--composition",
            help="Members per role, e.g. bank=3,consumer_finance=1,micro_lender=0,agency=1.",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reference date (yyyy-mm-dd); default: today in Beijing.")
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset",
            envvar="CREDGATE_SYNTH_DATASET",
            help="UCI default-of-credit-card-clients CSV; default: the repository's data/ copy.",
        ),
    ] = None,
    seed_pii: Annotated[
        Path | None,
        typer.Option(
            "--seed-pii", help="JSON list of {resident_id, name, mobile} planted as the first people."
        ),
    ] = None,
) -> None:
    """Write per-member borrower, account, application, contact, blacklist and consent files.

    Output is byte-identical for the same options. ``truth.json`` links every
    person across members and exists only because the data are synthetic.

    Raises
    ------
    InvalidInputError
        On a bad option value (caught by the application's single error handler).

    """
    try:
        reference = dt.date.fromisoformat(as_of) if as_of else local_date(system_clock())
    except ValueError:
        raise InvalidInputError(f"expected yyyy-mm-dd, received {as_of!r}", field="as_of") from None
    options = SynthOptions(
        people=people,
        seed=seed,
        composition=resolve_composition(members=members, composition=composition),
        as_of=reference,
        dataset=dataset,
        seed_pii=load_seed_pii(seed_pii) if seed_pii else (),
    )
    result = generate_consortium(options)
    manifest = write_consortium(result, out)
    Console().print(summary_table(result, manifest=manifest))


def resolve_composition(*, members: int | None, composition: str | None) -> Composition:
    """Return the composition from ``--members`` and ``--composition``.

    Parameters
    ----------
    members
        Total member count, or ``None`` when not given.
    composition
        ``role=count`` list, or ``None`` for the default split.

    Returns
    -------
    Composition
        The explicit composition when given, else the default for ``members`` (5 when absent).

    Raises
    ------
    InvalidInputError
        When the two disagree or either is invalid.

    """
    if composition is None:
        return Composition.default_for(DEFAULT_MEMBERS if members is None else members)
    parsed = Composition.parse(composition)
    if members is not None and members != parsed.total:
        raise InvalidInputError(
            f"--members {members} disagrees with --composition totalling {parsed.total}", field="members"
        )
    return parsed


def summary_table(result: ConsortiumResult, *, manifest: Path) -> Table:
    """Return a rich table: one row per member with its role and row counts, people and overlap below.

    Parameters
    ----------
    result
        The generated consortium.
    manifest
        Path of the manifest written, shown in the caption.

    Returns
    -------
    Table
        Ready for ``Console.print``.

    """
    counts = result.counts()
    table = Table(title=f"Synthetic consortium: {len(result.people):,} people, seed {result.options.seed}")
    table.add_column("member", no_wrap=True)
    table.add_column("role", no_wrap=True)
    for header in ("borrowers", "accounts", "apps", "contacts", "blacklist", "consents"):
        table.add_column(header, justify="right")
    for data in result.members:
        row = counts[data.member.member_id]
        table.add_row(
            data.member.member_id,
            data.member.role.value,
            *(
                f"{row[kind]:,}"
                for kind in ("borrowers", "accounts", "applications", "contacts", "blacklist", "consents")
            ),
        )
    lenders = result.lenders_per_person()
    risky = [n for n, person in zip(lenders, result.people, strict=True) if person.risky]
    safe = [n for n, person in zip(lenders, result.people, strict=True) if not person.risky]
    table.caption = (
        f"multi-lender share {result.multi_lender_share:.1%} "
        f"(defaulted {_share(risky):.1%}, others {_share(safe):.1%}); manifest {manifest}"
    )
    return table


def _share(counts: list[int]) -> float:
    return sum(1 for n in counts if n > 1) / max(len(counts), 1)
