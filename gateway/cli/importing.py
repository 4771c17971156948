"""``credgate import KIND FILE --mapping MAPPING``: load a member's file into the local store.

``credgate import quarantine`` lists the rows an import refused (row, field, reason) and
exports them with their raw values to a CSV kept on the node, to fix and import again.

Exit codes (the 20–29 range belongs to the importer):

* ``0`` — the file was read; rows were imported, quarantined or counted as duplicates.
* ``20`` — the file or its mapping cannot be used (``ImportFileError``); nothing was imported.
* ``22`` — the file was read but every row was refused (all quarantined): nothing usable came in.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from gateway.cli.exit_codes import ExitCode
from gateway.config import Settings, default_policies_dir
from gateway.errors import ImportFileError
from gateway.ingest import ImportKind, ImportProgress, ImportSummary, run_import
from gateway.store import open_store
from gateway.store.database import Store
from gateway.store.repositories.imports import ImportLedger

EXIT_IMPORT_FILE_INVALID = ExitCode.IMPORT_FILE_INVALID
"""The import file or its column mapping cannot be used; nothing was imported."""
EXIT_IMPORT_ALL_REJECTED = ExitCode.IMPORT_ALL_REJECTED
"""Every row of the file was refused (quarantined); nothing was imported."""

PROGRESS_MIN_ROWS = 5000
"""Files with fewer rows finish too fast for a progress bar to help."""


def register(app: typer.Typer) -> None:
    """Add the ``import`` command group (one command per kind, and ``quarantine``) to ``app``.

    Parameters
    ----------
    app
        The CLI application (``gateway.cli.app``) or a test application.

    """
    group = typer.Typer(help="Import CSV or Parquet files into the local store; review refused rows.")
    for kind in ImportKind:
        group.command(kind.value, help=f"Import a file of {kind.value} into the local store.")(
            _for_kind(kind)
        )
    group.command("quarantine")(quarantine)
    app.add_typer(group, name="import")


# The options every ``import KIND`` command takes.
_File = Annotated[Path, typer.Argument(metavar="FILE", help="CSV (UTF-8) or Parquet file with a header row.")]
_Mapping = Annotated[Path, typer.Option("--mapping", help="TOML mapping of canonical fields to columns.")]
_Config = Annotated[Path | None, typer.Option("--config", help="The node's TOML settings file.")]
_StoreUrl = Annotated[
    str | None,
    typer.Option(
        "--store-url", envvar="CREDGATE_STORE_URL", help="Store URL; overrides the one in --config."
    ),
]
_ChunkRows = Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per transaction.")]


def _for_kind(kind: ImportKind) -> Callable[..., None]:
    if kind is ImportKind.FEATURES:
        return _features_command()

    def command(
        file: _File,
        mapping: _Mapping,
        config: _Config = None,
        store_url: _StoreUrl = None,
        chunk_rows: _ChunkRows = 1000,
    ) -> None:
        import_file(kind, file, mapping, config, store_url, chunk_rows)

    command.__doc__ = f"Import FILE of {kind.value}; bad rows are quarantined, the counts printed at the end."
    return command


def _features_command() -> Callable[..., None]:
    def command(
        file: _File,
        mapping: _Mapping,
        spec: Annotated[Path, typer.Option("--spec", help="Feature spec: the model columns' rules.")],
        config: _Config = None,
        store_url: _StoreUrl = None,
        chunk_rows: _ChunkRows = 1000,
    ) -> None:
        import_file(ImportKind.FEATURES, file, mapping, config, store_url, chunk_rows, spec=spec)

    command.__doc__ = (
        "Import FILE of a member's own model columns, validated by the feature spec; "
        "bad rows are quarantined, the counts printed at the end."
    )
    return command


def _store_url(config: Path | None, store_url: str | None) -> str:
    settings = Settings.from_file(config) if config is not None else None
    url = store_url or (settings.store_url if settings is not None else None)
    if url is None:
        raise typer.BadParameter(
            "give --config NODE_TOML or --store-url (or set CREDGATE_STORE_URL)",
            param_hint="--config / --store-url",
        )
    return url


def quarantine(
    config: Annotated[Path | None, typer.Option("--config", help="The node's TOML settings file.")] = None,
    store_url: Annotated[
        str | None, typer.Option("--store-url", envvar="CREDGATE_STORE_URL", help="Store URL.")
    ] = None,
    kind: Annotated[ImportKind | None, typer.Option(help="Only rows of this kind.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Export the rows, raw values included (PII: keep the file on the node), as CSV."),
    ] = None,
) -> None:
    """List the rows imports refused: file, row number, field and reason (raw values only with --out)."""
    store = open_store(_store_url(config, store_url))
    try:
        rows = ImportLedger(store).quarantined(kind=kind)
    finally:
        store.close()
    if out is not None:
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row.raw_row if c not in columns]
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["kind", "source_file", "row", "field", "reason", *columns])
            for row in rows:
                writer.writerow(
                    [row.kind.value, row.source_file, row.row_number, row.field, row.reason]
                    + [row.raw_row.get(c, "") for c in columns]
                )
    table = Table("kind", "file", "row", "field", "reason", title=f"{len(rows)} quarantined rows")
    for row in rows:
        table.add_row(
            row.kind.value, escape(Path(row.source_file).name), str(row.row_number), escape(row.field),
            escape(row.reason),
        )  # fmt: skip
    Console().print(table)
    if out is not None:
        Console(stderr=True).print(f"exported to {escape(str(out))} (raw values: keep it on this node)")


def import_file(
    kind: ImportKind,
    file: Path,
    mapping: Path,
    config: Path | None = None,
    store_url: str | None = None,
    chunk_rows: int = 1000,
    *,
    spec: Path | None = None,
) -> None:
    """Import FILE of KIND; bad rows are quarantined, and the counts are printed at the end.

    ``spec`` (the feature spec) is needed for, and only read by, kind ``features``.
    """
    url = _store_url(config, store_url)
    settings = Settings.from_file(config) if config is not None else None
    policies_dir = settings.policies_dir if settings is not None else default_policies_dir()
    store = open_store(url)
    try:
        if kind is ImportKind.FEATURES:
            summary = _import_features(store, file, mapping, spec, chunk_rows=chunk_rows)
        else:
            with _ProgressBar() as bar:
                summary = run_import(
                    store,
                    kind,
                    file,
                    mapping,
                    on_progress=bar.update,
                    policies_dir=policies_dir,
                    chunk_rows=chunk_rows,
                )
    except ImportFileError as exc:
        typer.echo(f"import failed: {' '.join(exc.message.split())}", err=True)
        raise typer.Exit(EXIT_IMPORT_FILE_INVALID) from None
    finally:
        store.close()
    Console().print(summary_table(summary))
    if summary.rows_quarantined > 0 and summary.rows_imported == 0 and summary.rows_duplicate == 0:
        typer.echo(
            f"import refused every row ({summary.rows_quarantined} quarantined); "
            "see `credgate import quarantine` for the reasons",
            err=True,
        )
        raise typer.Exit(EXIT_IMPORT_ALL_REJECTED)


def _import_features(
    store: Store, file: Path, mapping: Path, spec: Path | None, *, chunk_rows: int
) -> ImportSummary:
    from federated.features.spec import load_spec
    from gateway.clock import system_clock
    from gateway.ingest.features import run_feature_import

    if spec is None:
        raise typer.BadParameter("importing features needs the feature spec", param_hint="--spec")
    return run_feature_import(
        store, file, mapping, load_spec(spec), clock=system_clock, chunk_rows=chunk_rows
    )


def summary_table(summary: ImportSummary) -> Table:
    """Return the end-of-import table: read / imported / quarantined / duplicates."""
    table = Table(title=f"import {summary.kind.value}: {Path(summary.source_file).name}")
    for column in ("read", "imported", "quarantined", "duplicates"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.rows_read),
        str(summary.rows_imported),
        str(summary.rows_quarantined),
        str(summary.rows_duplicate),
    )
    return table


class _ProgressBar:
    """A rich progress bar on stderr, shown only for files of at least PROGRESS_MIN_ROWS rows."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._progress.stop()

    def update(self, progress: ImportProgress, /) -> None:
        """Advance the bar to ``progress.rows_done``."""
        if progress.rows_total < PROGRESS_MIN_ROWS:
            return
        if self._task is None:
            self._task = self._progress.add_task("import", total=progress.rows_total)
        self._progress.update(self._task, completed=progress.rows_done)
