"""``credgate demo``: the whole consortium on this machine, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.demo.run import run_demo
from gateway.errors import InvalidInputError


def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for every output (recreated).")] = Path(".demo"),
    people: Annotated[int, typer.Option(min=50, help="Synthetic population size.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic consortium.")] = 7,
    train: Annotated[
        bool, typer.Option(help="Also train the shared model across the lenders (a few minutes).")
    ] = True,
    book: Annotated[
        str, typer.Option(help="The lenders' model book: uci (their synthetic accounts) or credit-risk.")
    ] = "uci",
    split: Annotated[
        str, typer.Option(help="credit-risk: cut the book by its segment column, or at random.")
    ] = "segment",
    book_rows: Annotated[
        int | None, typer.Option(min=100, help="credit-risk: a seeded sample of this many loans.")
    ] = None,
) -> None:
    """Provision a CA, generate a consortium, run bureau + 5 members on loopback with mTLS, then stop."""
    console = Console(width=140)
    if split not in ("segment", "random"):
        raise InvalidInputError(f"expected segment or random, received {split!r}", field="--split")
    outcome = run_demo(
        workdir, people=people, seed=seed, console=console, federated=train, book=book, split=split,
        book_rows=book_rows,
    )  # fmt: skip
    console.print(f"\n[bold]demo finished in {outcome.seconds:.1f} s.[/] Outputs in {outcome.workdir}:")
    for name, what in (
        ("ca/", "consortium CA, issued-certificate register, CRL"),
        ("consortium/", "synthetic member import files, mappings, manifest, ground truth"),
        ("nodes/<member>/", "node.toml, TLS material, SQLite store, runtime.json"),
        ("logs/", "one JSON-lines log per process"),
        ("outputs/", "what the queries produced: the portfolio screen's bucketed results, …"),
        (outcome.summary_path.name, "what the demo measured"),
    ):
        console.print(f"  {outcome.workdir / name}  — {what}")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""
    app.command("demo")(demo)
