"""``credgate bureau start`` and ``credgate node start``: long-lived node processes."""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from gateway.audit import AuditEvent, AuditRecorder, Outcome
from gateway.audit.entry import ANONYMOUS
from gateway.bureau.oprf import rotate_with_grace
from gateway.clock import Clock, UnsafeOffsetClock, system_clock
from gateway.config import Settings
from gateway.crypto.keys import retire_node_keys
from gateway.errors import ConfigError
from gateway.identity.tls import TLSIdentity
from gateway.node.runtime import (
    RunningNode,
    oprf_key_folder,
    start_bureau,
    start_member,
)
from gateway.node.shutdown import run_until_signalled
from gateway.queries.subject_check.settings import SubjectCheckSettings
from gateway.store.database import open_store
from gateway.store.enums import AuditDecision
from gateway.store.repositories.audit import AuditLog
from gateway.store.repositories.members import MemberDirectory

ConfigOption = Annotated[Path, typer.Option("--config", envvar="CREDGATE_CONFIG", help="Node TOML file.")]
FederatedOption = Annotated[
    bool,
    typer.Option(
        "--federated",
        envvar="CREDGATE_FEDERATED",
        help="Also run the Flower parts (bureau: SuperLink + fleet relay; member: SuperNode).",
    ),
]

bureau_app = typer.Typer(help="Run the bureau (directory, routing, aggregation hub).", no_args_is_help=True)
node_app = typer.Typer(help="Run a member node next to its loan book.", no_args_is_help=True)


# TEST ONLY (process tests that need a given local hour): moves the node's clock, with a warning.
UNSAFE_CLOCK_OFFSET_ENV = "CREDGATE_UNSAFE_CLOCK_OFFSET_SECONDS"


def _clock() -> Clock:
    offset = os.environ.get(UNSAFE_CLOCK_OFFSET_ENV)
    if offset is None:
        return system_clock
    try:
        return UnsafeOffsetClock(float(offset))
    except ValueError:
        raise ConfigError(f"{UNSAFE_CLOCK_OFFSET_ENV} must be a number of seconds") from None


@bureau_app.command("start")
def bureau_start(config: ConfigOption, federated: FederatedOption = False) -> None:
    """Start the bureau and serve until SIGTERM or SIGINT."""
    settings = Settings.from_file(config)
    _serve_until_signalled(start_bureau(settings, clock=_clock()), config, federated=federated)


@bureau_app.command("rotate-key")
def bureau_rotate_key(config: ConfigOption) -> None:
    """Add a new OPRF key epoch; it starts serving after the policy's grace period.

    During the grace period the previous epoch keeps serving checks and members run
    `credgate tokenise`, which tokenises their books under both epochs.
    """
    settings = Settings.from_file(config)
    grace = dt.timedelta(
        hours=SubjectCheckSettings.from_directory(settings.policies_dir).key_rotation.grace_hours
    )
    epoch, serves_from = rotate_with_grace(oprf_key_folder(settings), grace=grace, now=system_clock())
    store = open_store(settings.store_url)
    try:  # a key rotation is a decision of its own in the bureau's witnessed audit log
        AuditLog(store).append(
            actor_member_id=ANONYMOUS,
            actor_role="operator",
            action="oprf.rotate_key",
            resource=settings.member_id,
            decision=AuditDecision.ALLOW,
            reason="operator",
            correlation_id=f"oprf-epoch-{epoch}",
            details={"epoch": epoch, "serves_from": serves_from.isoformat()},
            at=system_clock(),
        )
    finally:
        store.close()
    typer.echo(
        f"OPRF key epoch {epoch} added; it serves checks from {serves_from.isoformat()}. "
        "Until then ask every member to run `credgate tokenise`."
    )


@bureau_app.command("remove-member")
def bureau_remove_member(
    config: ConfigOption,
    member: Annotated[str, typer.Option("--member", help="The member id to remove from the directory.")],
) -> None:
    """Remove a member from the directory: it is no longer listed, asked or sealed to.

    Revoke its certificate too (`credgate ca revoke`), or it can register again.
    """
    settings = Settings.from_file(config)
    store = open_store(settings.store_url)
    try:
        MemberDirectory(store).remove(member)
        identity = TLSIdentity.from_settings(settings.tls)
        AuditRecorder(AuditLog(store), node_id=identity.own.member_id, clock=system_clock).record(
            AuditEvent.for_peer(
                identity.own,
                action="directory.remove_member",
                outcome=Outcome.ALLOW,
                reason="operator",
                correlation_id=uuid.uuid4().hex,
                details={"member": member},
            )
        )
    finally:
        store.close()
    typer.echo(f"{member} removed from the directory")


@node_app.command("rotate-keys")
def node_rotate_keys(config: ConfigOption) -> None:
    """Retire this node's HPKE and mask keys; restart the node to publish fresh ones.

    Peers accept the new bundle as a rotation because the node's pinned certificate signs
    it (the bureau cannot); each records the rotation in its audit log.
    """
    settings = Settings.from_file(config)
    moved = retire_node_keys(settings.data_dir / "keys", suffix=system_clock().strftime("%Y%m%dT%H%M%SZ"))
    typer.echo(f"{len(moved)} key files retired; restart the node (`credgate node start`) to publish them")


@node_app.command("start")
def node_start(config: ConfigOption, federated: FederatedOption = False) -> None:
    """Start a member node, register with the bureau and serve until SIGTERM or SIGINT."""
    settings = Settings.from_file(config)
    _serve_until_signalled(start_member(settings, clock=_clock()), config, federated=federated)


def _serve_until_signalled(node: RunningNode, config: Path, *, federated: bool) -> None:
    node = _with_federation(node, config, federated=federated)
    run_until_signalled(node, grace_seconds=node.settings.server.shutdown_grace_seconds)


def _with_federation(node: RunningNode, config: Path, *, federated: bool) -> RunningNode:
    """Start the node's Flower parts when ``--federated`` or ``[federation] enabled`` says so."""
    from gateway.federation.settings import FederationSettings

    try:
        federation = FederationSettings.from_file(
            config, node.settings, environ=os.environ, force_enabled=federated
        )
    except BaseException:
        node.stop()
        raise
    if federation.enabled:
        from gateway.federation.parts import attach_to_node  # only federated nodes load the Flower parts

        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per fleet call otherwise
        attach_to_node(node, federation)
    return node
