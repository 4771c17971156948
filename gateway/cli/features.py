"""``credgate features check``: validate a feature spec against this member's data before any run.

Reads the same source the member's ClientApp trains on (the store's ``model_rows``
imported with ``credgate import features``, or ``[federation] features_table``; or
``--csv FILE``), prints a profile (rows, missing cells, ranges, categories seen and
unknown) and every refused cell with its row and column, and exits non-zero
(``FeatureSpecError``) when the member could not take part with this spec.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.config import Settings
from gateway.errors import InvalidInputError

__all__ = ["register"]

app = typer.Typer(help="Feature specs: check a spec against this member's data.", no_args_is_help=True)
SHOWN_ERRORS = 20


@app.command("check")
def check(
    spec: Annotated[Path, typer.Option("--spec", help="Feature spec TOML file.")],
    config: Annotated[Path | None, typer.Option("--config", help="The member's node.toml.")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Check a CSV file instead of the store.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Reference date for date columns.")] = None,
) -> None:
    """Profile this member's rows under SPEC; fail naming the column and row of every refused cell."""
    from federated.errors import FeatureSpecError
    from federated.features.profile import profile_rows
    from federated.features.sources import csv_rows
    from federated.features.spec import load_spec
    from federated.member import read_source
    from gateway.clock import local_date, system_clock

    parsed = load_spec(spec)
    try:
        reference = dt.date.fromisoformat(as_of) if as_of else local_date(system_clock())
    except ValueError:
        raise InvalidInputError(f"expected YYYY-MM-DD, received {as_of!r}", field="--as-of") from None
    if csv is not None:
        rows = csv_rows(csv, parsed)
    elif config is not None:
        rows = read_source(node_source(config), parsed)
    else:
        raise InvalidInputError("give --config NODE_TOML or --csv FILE", field="--config")
    profile = profile_rows(rows, parsed, as_of=reference)
    console = Console(width=140)
    console.print(_table(profile))
    for error in profile.errors[:SHOWN_ERRORS]:
        console.print(f"[red]refused[/] {error}", highlight=False)
    if len(profile.errors) > SHOWN_ERRORS:
        console.print(f"… and {len(profile.errors) - SHOWN_ERRORS} more refused cells")
    if profile.absent:
        raise FeatureSpecError(f"feature: {profile.where} lacks columns {profile.absent}")
    if profile.errors:
        columns = sorted({error.column for error in profile.errors})
        raise FeatureSpecError(
            f"feature: {len(profile.errors)} cells refused in columns {columns} (first: {profile.errors[0]})"
        )
    if profile.rows == 0:
        raise FeatureSpecError(f"feature: {profile.where} holds no rows for spec {parsed.name!r}")
    console.print(f"[green]spec {parsed.name} v{parsed.version}: {profile.rows} rows can train and score[/]")


def node_source(config: Path) -> dict[str, str]:
    """The node config a member's ClientApp gets, from its node.toml (store and feature source)."""
    import os

    from gateway.federation.parts import member_node_config
    from gateway.federation.settings import FederationSettings

    settings = Settings.from_file(config)
    federation = FederationSettings.from_file(config, settings, environ=os.environ)
    return member_node_config(settings, federation)


def _table(profile: object) -> Table:
    from federated.features.profile import SpecProfile

    if not isinstance(profile, SpecProfile):
        raise TypeError("expected a SpecProfile")
    rate = profile.positives / profile.rows if profile.rows else 0.0
    table = Table(
        "column", "type", "unit", "missing", "range / categories seen", "unknown", "refused",
        title=f"{profile.where}: {profile.rows} rows, target {profile.spec.target} = 1 in {rate:.1%}",
    )  # fmt: skip
    for column in profile.columns:
        if column.type == "category":
            seen = ", ".join(f"{code} {count}" for code, count in column.seen.most_common())
        elif column.low <= column.high:
            seen = f"{column.low:g} … {column.high:g}"
        else:
            seen = "-"
        unknown = ", ".join(f"{code!r} {count}" for code, count in column.unknown.most_common(5))
        table.add_row(
            column.column, column.type, column.unit, str(column.missing), seen, unknown, str(column.refused)
        )
    for name in profile.absent:
        table.add_row(name, "[red]absent[/]", "", "", "", "", "")
    return table


def register(root: typer.Typer) -> None:
    """Add the ``features`` group to ``root``."""
    root.add_typer(app, name="features")
