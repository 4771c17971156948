"""``credgate audit``: verify the node's audit log, export evidence bundles, verify them offline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.clock import LOCAL_ZONE, system_clock
from gateway.config import Settings
from gateway.errors import InvalidInputError
from gateway.identity.tls import TLSIdentity
from gateway.store.database import open_store
from gateway.tlog.checkpoints import CheckpointStore
from gateway.tlog.evidence import verify_evidence
from gateway.transparency.export import verify_export
from gateway.transparency.operations import export_node_log, verify_node_log

app = typer.Typer(
    help="The node's audit log: a witnessed transparency log (docs/audit.md).", no_args_is_help=True
)
ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
_console = Console(highlight=False)


@app.command("verify")
def verify(
    config: ConfigOption,
    offline: Annotated[bool, typer.Option(help="Use only the checkpoints this node holds.")] = False,
) -> None:
    """Recompute the audit log from its entries and hold it to every signed and co-signed checkpoint."""
    checked = verify_node_log(Settings.from_file(config), clock=system_clock, online=not offline)
    result = checked.result
    _console.print(
        f"audit log of {checked.member_id}: {result.size} entries verified against "
        f"{result.checkpoints} signed "
        f"checkpoints (largest {result.largest_checkpoint})"
    )
    cosigned = result.largest_cosigned
    if cosigned is not None:
        names = ", ".join(name.rsplit("/", 1)[-1] for name in cosigned[1])
        _console.print(f"  largest co-signed checkpoint: size {cosigned[0]}, co-signed by {names}")
    else:
        _console.print("  no co-signed checkpoint yet (are the witnesses running?)")
    for item in checked.evidence:
        _console.print(
            f"  [red]evidence #{item.id}[/]: {item.kind} by {item.origin} "
            f"({item.recorded_at:%Y-%m-%d %H:%M} UTC)"
        )


@app.command("export")
def export(
    config: ConfigOption,
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, Asia/Shanghai) or ISO time.")],
    end: Annotated[str, typer.Option("--to", help="Last day, included (YYYY-MM-DD) or ISO time, excluded.")],
    out: Annotated[Path, typer.Option(help="Where to write the bundle (JSON).")],
    min_cosignatures: Annotated[int, typer.Option(min=0, help="Co-signatures the anchor must carry.")] = 1,
) -> None:
    """Write the period's entries with inclusion proofs into a co-signed checkpoint, for offline checks."""
    settings = Settings.from_file(config)
    left_out = export_node_log(
        settings,
        start=_time(start, end_of_day=False),
        end=_time(end, end_of_day=True),
        out=out,
        min_cosignatures=min_cosignatures,
        clock=system_clock,
    )
    ca = TLSIdentity.from_settings(settings.tls).ca_pem
    summary = verify_export(out.read_bytes(), ca_certificate_pem=ca, min_cosignatures=min_cosignatures)
    _console.print(
        f"wrote {out}: {summary.entries} entries of {summary.member_id}, "
        f"checkpoint size {summary.checkpoint_size} "
        f"co-signed by {', '.join(summary.cosigners) or 'nobody'}"
    )
    if left_out:
        _console.print(f"  {left_out} later entries are not in a co-signed checkpoint yet and were left out")


@app.command("verify-export")
def verify_export_command(
    bundle: Annotated[Path, typer.Argument(help="A bundle written by `credgate audit export`.")],
    ca_cert: Annotated[Path | None, typer.Option(help="The consortium CA certificate to trust.")] = None,
    min_cosignatures: Annotated[int, typer.Option(min=0)] = 1,
) -> None:
    """Verify an exported bundle offline: signatures, co-signatures, every inclusion proof."""
    summary = verify_export(
        bundle.read_bytes(),
        ca_certificate_pem=None if ca_cert is None else ca_cert.read_bytes(),
        min_cosignatures=min_cosignatures,
    )
    _console.print(
        f"bundle verified: {summary.entries} audit entries of {summary.member_id} "
        f"({summary.period[0]} to {summary.period[1]}), each included in checkpoint size "
        f"{summary.checkpoint_size} co-signed by {', '.join(summary.cosigners) or 'nobody'}"
    )


@app.command("evidence")
def evidence(
    config: ConfigOption,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write each piece of evidence to (JSON).")
    ] = None,
) -> None:
    """List (and write out) the proofs of misbehaviour this node's witness kept."""
    settings = Settings.from_file(config)
    store = open_store(settings.store_url)
    try:
        items = CheckpointStore(store, clock=system_clock).evidence()
    finally:
        store.close()
    if not items:
        _console.print("no evidence of misbehaviour kept")
    for item in items:
        _console.print(f"#{item.id} {item.kind} by {item.origin} at {item.recorded_at:%Y-%m-%d %H:%M:%S} UTC")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"evidence-{item.id}.json"
            path.write_text(json.dumps(item.evidence, sort_keys=True, indent=1) + "\n", encoding="utf-8")
            _console.print(f"  written to {path}")


@app.command("verify-evidence")
def verify_evidence_command(
    file: Annotated[Path, typer.Argument(help="Evidence written by `credgate audit evidence --out`.")],
    ca_cert: Annotated[Path, typer.Option(help="The consortium CA certificate.")],
    bureau_member_id: Annotated[
        str, typer.Option(help="The bureau's member id (owner of the key log).")
    ] = "bureau",
) -> None:
    """Verify a proof of misbehaviour offline and say what it proves."""
    finding = verify_evidence(
        json.loads(file.read_text(encoding="utf-8")),
        ca_certificate_pem=ca_cert.read_bytes(),
        bureau_member_id=bureau_member_id,
    )
    _console.print(f"evidence verified: {finding.description}")


def _time(value: str, *, end_of_day: bool) -> dt.datetime:
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end_of_day else 0)
            return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_ZONE)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"expected YYYY-MM-DD or an ISO time, received {value!r}", field="from/to"
        ) from exc
    if parsed.tzinfo is None:
        raise InvalidInputError("an ISO time needs its offset (e.g. +08:00)", field="from/to")
    return parsed


def register(root: typer.Typer) -> None:
    """Add the ``audit`` command group to ``root``."""
    root.add_typer(app, name="audit")
