"""``credgate bureau start`` and ``credgate node start``: long-lived node processes."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.audit.entry import ANONYMOUS
from gateway.clock import Clock, UnsafeOffsetClock, system_clock
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.node.runtime import (
    RunningNode,
    oprf_key_folder,
    run_until_signalled,
    start_bureau,
    start_member,
)
from gateway.store.database import open_store
from gateway.store.enums import AuditDecision
from gateway.store.repositories.audit import AuditLog
from gateway.tokens.oprf.keyring import OPRFKeyRing

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
    run_until_signalled(_with_federation(start_bureau(settings, clock=_clock()), config, federated=federated))


@bureau_app.command("rotate-key")
def bureau_rotate_key(config: ConfigOption) -> None:
    """Start a new OPRF key epoch; members must tokenise their books again (credgate tokenise)."""
    settings = Settings.from_file(config)
    epoch = OPRFKeyRing.load_or_create(oprf_key_folder(settings)).rotate()
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
            details={"epoch": epoch},
            at=system_clock(),
        )
    finally:
        store.close()
    typer.echo(f"OPRF key epoch {epoch} is now current; ask every member to run `credgate tokenise`")


@node_app.command("start")
def node_start(config: ConfigOption, federated: FederatedOption = False) -> None:
    """Start a member node, register with the bureau and serve until SIGTERM or SIGINT."""
    settings = Settings.from_file(config)
    run_until_signalled(_with_federation(start_member(settings, clock=_clock()), config, federated=federated))


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
