"""``credgate import KIND FILE --mapping MAPPING``: load a member's file into the local store.

Exit codes (the 20–29 range belongs to the importer):

* ``0`` — the file was read; rows were imported, quarantined or counted as duplicates.
* ``20`` — the file or its mapping cannot be used (``ImportFileError``); nothing was imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
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

EXIT_IMPORT_FILE_INVALID = ExitCode.IMPORT_FILE_INVALID
"""The import file or its column mapping cannot be used; nothing was imported."""

PROGRESS_MIN_ROWS = 5000
"""Files with fewer rows finish too fast for a progress bar to help."""


def register(app: typer.Typer) -> None:
    """Add the ``import`` command to ``app``.

    Parameters
    ----------
    app
        The CLI application (``gateway.cli.app``) or a test application.

    """
    app.command("import", help="Import a CSV or Parquet file into the local store.")(import_file)


def import_file(
    kind: Annotated[
        ImportKind, typer.Argument(metavar="KIND", help="What the file holds.", case_sensitive=False)
    ],
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="CSV (UTF-8) or Parquet file with a header row.")
    ],
    mapping: Annotated[Path, typer.Option("--mapping", help="TOML mapping of canonical fields to columns.")],
    config: Annotated[Path | None, typer.Option("--config", help="The node's TOML settings file.")] = None,
    store_url: Annotated[
        str | None,
        typer.Option(
            "--store-url", envvar="CREDGATE_STORE_URL", help="Store URL; overrides the one in --config."
        ),
    ] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per transaction.")] = 1000,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Feature spec (KIND features: the model columns' rules).")
    ] = None,
) -> None:
    """Import FILE of KIND; bad rows are quarantined, and the counts are printed at the end."""
    settings = Settings.from_file(config) if config is not None else None
    url = store_url or (settings.store_url if settings is not None else None)
    if url is None:
        raise typer.BadParameter(
            "give --config NODE_TOML or --store-url (or set CREDGATE_STORE_URL)",
            param_hint="--config / --store-url",
        )
    policies_dir = settings.policies_dir if settings is not None else default_policies_dir()
    store = open_store(url)
    try:
        if kind is ImportKind.FEATURES:
            summary = _import_features(store, file, mapping, spec, chunk_rows=chunk_rows)
            Console().print(summary_table(summary))
            return
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
