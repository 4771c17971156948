"""``credgate model fetch``: install the bureau's newest signed model at this member, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich.console import Console

from gateway.cli.subject import ConfigOption
from gateway.clock import system_clock

app = typer.Typer(help="The shared delinquency model at a member.", no_args_is_help=True)


@app.command("fetch")
def fetch(
    config: ConfigOption,
    name: Annotated[str, typer.Option(help="Registry name of the model.")] = "delinquency",
) -> None:
    """Fetch the newest signed model from the bureau; install it only if it verifies."""
    from gateway._proto.credgate.v1 import bureau_pb2_grpc, models_pb2
    from gateway.config import Settings
    from gateway.federation.models import PublishedModel, install_model
    from gateway.node.session import member_session
    from gateway.rpc.convert.subject_check import new_header
    from gateway.rpc.status import error_from_rpc

    settings = Settings.from_file(config)
    with member_session(settings) as session:
        stub = bureau_pb2_grpc.BureauServiceStub(session.channel)
        try:
            response = stub.GetModel(
                models_pb2.GetModelRequest(header=new_header(), model_name=name), timeout=30
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc, peer="bureau") from exc
        ca_pem = session.identity.ca_pem
    published = PublishedModel(
        response.model_name,
        response.version,
        response.model_file,
        response.signature,
        response.signer_certificate,
    )
    path = install_model(
        published, models_dir(settings.data_dir), ca_certificate_pem=ca_pem, now=system_clock()
    )
    Console().print(f"{published.name} v{published.version} verified and installed: {path}")


def models_dir(data_dir: Path) -> Path:
    """Where a member keeps the verified models it fetched."""
    return data_dir / "models"


def register(root: typer.Typer) -> None:
    """Add the ``model`` command group to ``root``."""
    root.add_typer(app, name="model")
