"""``credgate score``: score this member's accounts locally with a signed shared model.

The model file is verified first (bureau signature, bureau certificate issued by the
consortium CA, weight hash); an unverifiable model is refused with exit code 14
(``CRYPTO_REFUSED``) and nothing is scored. Scores go to a local CSV file; the
terminal shows only the count of accounts per risk tier.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli.subject import ConfigOption

__all__ = ["register", "score"]


def score(
    config: ConfigOption,
    model: Annotated[Path, typer.Option("--model", help="model.json from the model registry.")],
    out: Annotated[Path, typer.Option("--out", help="Local CSV file for the scores.")] = Path("scores.csv"),
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Feature spec (default: the run's, recorded with the model)."),
    ] = None,
    tiers: Annotated[
        Path | None, typer.Option("--tiers", help="Model policy file holding the tier bounds.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Reference date for ages (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Score this member's accounts into risk tiers with a verified shared model."""
    from federated.features.sources import load_table
    from federated.features.spec import load_spec
    from federated.member import read_source
    from federated.registry import load_verified
    from federated.scoring import DEFAULT_MODEL_POLICY, load_tier_policy, score_table
    from federated.settings import DEFAULT_SPEC
    from gateway.cli.features import node_source
    from gateway.clock import local_date, system_clock
    from gateway.config import Settings
    from gateway.errors import InvalidInputError

    settings = Settings.from_file(config)
    now = system_clock()
    try:
        reference = dt.date.fromisoformat(as_of) if as_of else local_date(now)
    except ValueError:
        raise InvalidInputError(f"expected YYYY-MM-DD, received {as_of!r}", field="--as-of") from None
    verified = load_verified(model, ca_certificate_pem=settings.tls.ca_cert.read_bytes(), now=now)
    policy = load_tier_policy(tiers or DEFAULT_MODEL_POLICY)
    spec_path = spec or Path(str(verified.record.settings.get("feature-spec") or DEFAULT_SPEC))
    feature_spec = load_spec(spec_path)
    # The same source and the same cell rules as training (federated.member.read_source).
    table = load_table(
        read_source(node_source(config), feature_spec), feature_spec, as_of=reference, labelled=False
    )
    scores = score_table(verified, feature_spec, table, policy)
    scores.write_csv(out)
    counts = scores.counts()
    view = Table(
        title=f"{verified.record.name} v{verified.record.version} (signed by {verified.signer.member_id})"
    )
    view.add_column("tier")
    view.add_column("action")
    view.add_column("accounts", justify="right")
    for tier in policy.actions:
        view.add_row(tier.value, policy.actions[tier], str(counts.get(tier, 0)))
    Console().print(view)
    Console(stderr=True).print(f"scores of {len(scores.keys)} accounts written to {out}")


def register(app: typer.Typer) -> None:
    """Add ``credgate score`` to ``app``.

    Parameters
    ----------
    app
        The Typer application.

    """
    app.command("score")(score)
