"""Launch a consortium on this machine: CA, synthetic books, bureau and members as processes.

Used by ``credgate demo`` and by the benchmarks; everything it starts is stopped
(SIGTERM) when the ``with`` block ends, and a process that does not exit cleanly
is an error.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from federated.features.spec import load_spec
from gateway.bureau import MemberView
from gateway.clock import Clock, local_date, system_clock
from gateway.config import Settings
from gateway.demo.consortium import RunningConsortium, node_process
from gateway.demo.context import DemoContext
from gateway.demo.provision import BUREAU_ID, NodePlan, provision_ca, provision_node
from gateway.errors import GatewayError, InvalidInputError, UnavailableError
from gateway.identity.ca import CertificateAuthority
from gateway.identity.peer import Role
from gateway.ingest.features import run_feature_import
from gateway.ingest.runner import ImportSummary, run_import
from gateway.store.database import open_store
from gateway.store.enums import RECORD_KINDS
from gateway.synth.books import FEATURES_FILE, FEATURES_MAPPING, book_spec, write_model_books
from gateway.synth.consortium import ConsortiumResult, SynthOptions, generate_consortium
from gateway.synth.members import Composition
from gateway.synth.writer import write_consortium
from gateway.transparency.gate import KeyLogGate
from gateway.transparency.settings import TransparencySettings

MARKER = ".credgate-demo"
REGULATOR_ID = "regulator"
HEARTBEAT_SECONDS = 1.0
CERTIFICATES_BACKDATED = dt.timedelta(days=1)


@contextmanager
def launched_consortium(
    workdir: Path,
    *,
    people: int,
    seed: int,
    composition: Composition,
    console: Console,
    federated: bool = False,
    book: str = "uci",
    split: str = "segment",
    book_rows: int | None = None,
) -> Iterator[tuple[DemoContext, list[MemberView]]]:
    """Provision, generate, import and start a consortium in ``workdir`` (recreated); stop it after.

    Yields the shared context and the directory as the bureau sees it once every member registered
    (and, when ``federated``, once every lender's SuperNode is up behind the bureau's fleet relay).

    Raises
    ------
    GatewayError
        When a step fails, or a process does not stop cleanly (exit codes in ``context.exit_codes``).

    """
    _prepare(workdir)
    now = system_clock()
    # Certificates date from the day before, so that the contact step can show this morning's
    # and this evening's clearances on its own clock whatever the hour (gateway/demo/contact.py).
    issued = now - CERTIFICATES_BACKDATED
    with step(console, "consortium CA"):
        authority = provision_ca(workdir / "ca", now=issued)
    with step(console, f"synthetic consortium: {people} people, seed {seed}"):
        synthetic = generate_consortium(
            SynthOptions(people=people, seed=seed, composition=composition, as_of=local_date(now))
        )
        write_consortium(synthetic, workdir / "consortium")
    with step(console, f"lenders' model books: {book} (split: {split})"):
        write_model_books(
            synthetic, workdir / "consortium", book=book, split="random" if split == "random" else "segment",
            rows=book_rows,
        )  # fmt: skip
    bureau_settings = provision_node(
        authority,
        NodePlan(BUREAU_ID, Role.BUREAU, _node_dir(workdir, BUREAU_ID)),
        bureau_address=None,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        now=issued,
    )
    logs = workdir / "logs"
    environment = _federation_environment() if federated else {}
    consortium = RunningConsortium(
        bureau_settings,
        node_process(
            bureau_settings, _config(workdir, BUREAU_ID), logs, bureau=True, environment=environment
        ),
    )
    context = DemoContext(workdir, console, consortium, {}, federated=federated, book=book)
    try:
        with step(console, "bureau process started"):
            consortium.bureau.start()
            consortium.bureau_address = consortium.bureau.wait_ready()
        context.member_settings.update(
            _provision_members(authority, synthetic, workdir, consortium.bureau_address, issued)
        )
        context.regulator_settings = provision_node(
            authority,
            NodePlan(REGULATOR_ID, Role.REGULATOR, _node_dir(workdir, REGULATOR_ID)),
            bureau_address=consortium.bureau_address,
            heartbeat_seconds=HEARTBEAT_SECONDS,
            now=issued,
        )
        _import_books(context, synthetic)
        with step(console, f"{len(context.member_settings)} member processes started and registered"):
            for settings in context.member_settings.values():
                process = node_process(
                    settings,
                    _config(workdir, settings.member_id),
                    logs,
                    bureau=False,
                    environment=environment,
                )
                consortium.members.append(process)
                process.start()
            for process in consortium.members:
                process.wait_ready()
            views = consortium.wait_registered()
        with step(console, "key log co-signed: every member trusts every member's certificate and keys"):
            wait_for_trusted_keys(context.member_settings, clock=context.clock)
        if federated:
            with step(
                console, "Flower parts up: SuperLink and fleet relay at the bureau, SuperNodes at lenders"
            ):
                _wait_for_federation(consortium, {v.member_id for v in views if v.role.is_lender})
        yield context, views
    finally:
        with step(console, "all processes stopped (SIGTERM)"):
            context.exit_codes = consortium.stop()
    failed = {member: code for member, code in context.exit_codes.items() if code != 0}
    if failed:
        raise GatewayError(f"processes did not stop cleanly: {failed}; see {logs}")


def wait_for_trusted_keys(members: dict[str, Settings], *, clock: Clock, timeout: float = 120.0) -> None:
    """Wait until each member trusts a key-log checkpoint listing every member's keys.

    Raises
    ------
    UnavailableError
        When the witnesses do not get there in time.

    """
    deadline = time.monotonic() + timeout
    pending = dict(members)
    while pending:
        for member_id, settings in list(pending.items()):
            store = open_store(settings.store_url)
            try:
                trusted = KeyLogGate(
                    store,
                    ca_certificate_pem=settings.tls.ca_cert.read_bytes(),
                    bureau_member_id=settings.bureau_member_id,
                    settings=TransparencySettings.from_directory(settings.policies_dir),
                    clock=clock,
                ).trusted()
            finally:
                store.close()
            if trusted is not None and all(
                trusted.states.get(m) is not None and trusted.states[m].accepted_keys for m in members
            ):
                del pending[member_id]
        if pending and time.monotonic() > deadline:
            raise UnavailableError(f"no trusted key-log checkpoint at {', '.join(sorted(pending))} in time")
        time.sleep(0.5)


def _federation_environment() -> dict[str, str]:
    from gateway.federation.environment import free_loopback_port

    return {"CREDGATE_FEDERATED": "1", "CREDGATE_FEDERATION_RELAY": f"127.0.0.1:{free_loopback_port()}"}


def _wait_for_federation(consortium: RunningConsortium, lenders: set[str], timeout: float = 60.0) -> None:
    """Wait for the bureau's and every lender's ``federation.json`` (agencies train nothing)."""
    from gateway.federation.parts import FEDERATION_FILE

    deadline = time.monotonic() + timeout
    folders = [
        consortium.bureau.data_dir,
        *(p.data_dir for p in consortium.members if p.member_id in lenders),
    ]
    while not all((folder / FEDERATION_FILE).exists() for folder in folders):
        if time.monotonic() > deadline:
            missing = [f.parent.name for f in folders if not (f / FEDERATION_FILE).exists()]
            raise GatewayError(f"Flower parts did not start within {timeout:.0f} s on {missing}")
        time.sleep(0.2)


def _prepare(workdir: Path) -> None:
    if workdir.exists():
        if not (workdir / MARKER).exists():
            raise InvalidInputError(
                f"{workdir} exists and is not a demo folder; choose another --workdir", field="workdir"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("created by credgate demo; removed by the next run\n", encoding="utf-8")


def _node_dir(workdir: Path, member_id: str) -> Path:
    path = workdir / "nodes" / member_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _config(workdir: Path, member_id: str) -> Path:
    return NodePlan(member_id, Role.BANK, _node_dir(workdir, member_id)).config_path


def _provision_members(
    authority: CertificateAuthority,
    synthetic: ConsortiumResult,
    workdir: Path,
    bureau_address: str,
    now: dt.datetime,
) -> dict[str, Settings]:
    members: dict[str, Settings] = {}
    for data in synthetic.members:
        member = data.member
        plan = NodePlan(member.member_id, member.role, _node_dir(workdir, member.member_id))
        members[member.member_id] = provision_node(
            authority, plan, bureau_address=bureau_address, heartbeat_seconds=HEARTBEAT_SECONDS, now=now
        )
    return members


def _import_books(context: DemoContext, synthetic: ConsortiumResult) -> None:
    table = Table(
        "member",
        "kind",
        "read",
        "imported",
        "quarantined",
        "duplicates",
        title="loan books imported into each member's own store",
    )
    summaries: list[ImportSummary] = []
    with step(context.console, "member books imported"):
        for member_id, settings in context.member_settings.items():
            store = open_store(settings.store_url)
            try:
                folder = context.workdir / "consortium" / member_id
                for kind in RECORD_KINDS:
                    summary = run_import(
                        store, kind, folder / f"{kind.value}.csv", folder / f"{kind.value}.mapping.toml"
                    )
                    summaries.append(summary)
                    _add_row(table, member_id, summary)
                if (folder / FEATURES_FILE).exists():
                    spec = load_spec(book_spec(context.book))
                    summary = run_feature_import(
                        store, folder / FEATURES_FILE, folder / FEATURES_MAPPING, spec,
                        clock=context.clock,
                    )  # fmt: skip
                    summaries.append(summary)
                    _add_row(table, member_id, summary)
            finally:
                store.close()
    context.console.print(table)
    context.results["imported_rows"] = sum(s.rows_imported for s in summaries)
    context.results["quarantined_rows"] = sum(s.rows_quarantined for s in summaries)
    context.results["multi_lender_share"] = round(synthetic.multi_lender_share, 4)


def _add_row(table: Table, member_id: str, summary: ImportSummary) -> None:
    table.add_row(
        member_id,
        summary.kind.value,
        str(summary.rows_read),
        str(summary.rows_imported),
        str(summary.rows_quarantined),
        str(summary.rows_duplicate),
    )


@contextmanager
def step(console: Console, title: str) -> Iterator[None]:
    """Print ``title`` with the time the block took, once it succeeded."""
    started = time.monotonic()
    yield
    console.print(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f} s)[/]")
