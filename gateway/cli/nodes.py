"""``credgate bureau start`` and ``credgate node start``: long-lived node processes."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.bureau.oprf import rotate_with_grace
from gateway.clock import system_clock
from gateway.config import Settings
from gateway.node.runtime import (
    RunningNode,
    oprf_key_folder,
    run_until_signalled,
    start_bureau,
    start_member,
)
from gateway.queries.subject_check.settings import SubjectCheckSettings

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


@bureau_app.command("start")
def bureau_start(config: ConfigOption, federated: FederatedOption = False) -> None:
    """Start the bureau and serve until SIGTERM or SIGINT."""
    settings = Settings.from_file(config)
    run_until_signalled(_with_federation(start_bureau(settings), config, federated=federated))


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
    typer.echo(
        f"OPRF key epoch {epoch} added; it serves checks from {serves_from.isoformat()}. "
        "Until then ask every member to run `credgate tokenise`."
    )


@node_app.command("start")
def node_start(config: ConfigOption, federated: FederatedOption = False) -> None:
    """Start a member node, register with the bureau and serve until SIGTERM or SIGINT."""
    settings = Settings.from_file(config)
    run_until_signalled(_with_federation(start_member(settings), config, federated=federated))


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
