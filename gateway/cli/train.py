"""``credgate train``: start a federated run on the bureau's SuperLink and follow it per round.

Runs on the bureau's host next to a bureau started with ``--federated``. The run
fails the command (non-zero exit) whenever it does not end ``finished:completed``,
unlike ``flwr run``, which exits 0 either way. ``credgate bundle-hash`` prints
the SHA-256 to allow-list in ``policies/federated_bundles.toml``.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.config import Settings, default_policies_dir
from gateway.errors import InvalidInputError

ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Bureau TOML file.")]
DEFAULT_APP = default_policies_dir().parent / "federated" / "bundle"
_console = Console()


def train(
    config: ConfigOption,
    app_dir: Annotated[Path, typer.Option("--app", help="Flower app folder to bundle.")] = DEFAULT_APP,
    rounds: Annotated[int, typer.Option(min=1, help="Federated rounds (run config key rounds).")] = 5,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="Extra run config, KEY=VALUE (repeatable).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Give up (and stop the run) after this many seconds.")
    ] = 1800,
) -> None:
    """Start a run, show progress per round, print the final metrics; fail when the run fails."""
    from gateway.federation.bundles import BundleAllowList
    from gateway.federation.control import ControlClient
    from gateway.federation.parts import read_info
    from gateway.federation.runs import follow_run, start_run
    from gateway.federation.settings import BUNDLES_FILE

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per status poll otherwise
    settings = Settings.from_file(config)
    info = read_info(settings.data_dir)
    control = ControlClient(int(str(info["superlink_port"])), ca_cert=settings.tls.ca_cert)
    run_config: dict[str, str | int | float | bool] = {
        "rounds": rounds,
        **_signing_config(app_dir, settings),
        **_parse(setting or []),
    }
    try:
        run = start_run(
            control,
            app_dir,
            allow_list=BundleAllowList.from_file(settings.policies_dir / BUNDLES_FILE),
            output_root=settings.data_dir / "federation" / "runs",
            config=run_config,
        )
        _console.print(f"run {run.run_id} started (bundle {run.fab_hash[:12]}…), outputs in {run.output_dir}")
        with Progress(
            TextColumn("[bold]rounds"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), console=_console,
        ) as progress:  # fmt: skip
            task = progress.add_task("submitted", total=rounds)
            started = [False]

            def on_round(entry: dict[str, Any]) -> None:
                started[0] = started[0] or int(entry.get("round", 0)) > 0
                progress.update(task, completed=int(entry.get("round", 0)), description=_metrics(entry))

            def on_status(described: str) -> None:
                # Until round 1 ends, the line says what the run is doing (it takes minutes).
                if not started[0]:
                    progress.update(task, description=escape(described))

            results = follow_run(control, run, on_progress=on_round, on_status=on_status, timeout=timeout)
    finally:
        control.close()
    _console.print(_results_table(run.run_id, results))


def bundle_hash(app_dir: Annotated[Path, typer.Argument(help="Flower app folder.")] = DEFAULT_APP) -> None:
    """Print the SHA-256 of the bundle built from APP_DIR (what federated_bundles.toml lists)."""
    from gateway.federation.bundles import build_bundle, fab_sha256

    typer.echo(fab_sha256(build_bundle(app_dir)))


def _signing_config(app_dir: Path, settings: Settings) -> dict[str, str | int | float | bool]:
    """The bureau's key and certificate paths, when the app declares them (Flower refuses others).

    The ServerApp signs the trained model with the bureau's TLS key, read on this host (only the
    path travels in the run config), so that members can verify it before scoring.
    """
    declared = tomllib.loads((app_dir / "pyproject.toml").read_text(encoding="utf-8"))
    keys = declared.get("tool", {}).get("flwr", {}).get("app", {}).get("config", {})
    if "bureau-key" not in keys or "bureau-cert" not in keys:
        return {}
    return {"bureau-key": str(settings.tls.key.resolve()), "bureau-cert": str(settings.tls.cert.resolve())}


def _parse(pairs: list[str]) -> dict[str, str | int | float | bool]:
    parsed: dict[str, str | int | float | bool] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"expected KEY=VALUE, received {pair!r}", field="--set")
        parsed[key] = _value(raw)
    return parsed


def _value(raw: str) -> str | int | float | bool:
    if raw in ("true", "false"):
        return raw == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def _metrics(entry: dict[str, Any]) -> str:
    shown = {k: v for k, v in entry.items() if k not in ("round", "of") and isinstance(v, int | float | str)}
    return "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())


def _results_table(run_id: int, results: dict[str, Any]) -> Table:
    table = Table("metric", "value", title=f"run {run_id} finished:completed")
    final = results.get("final")
    scalars = {k: v for k, v in results.items() if k != "final"}
    scalars.update(final if isinstance(final, dict) else {})
    for key, value in scalars.items():
        if isinstance(value, int | float | str | bool) and value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    return table


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``bundle-hash`` to ``app``."""
    app.command("train")(train)
    app.command("bundle-hash")(bundle_hash)
