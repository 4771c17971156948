"""The ServerApp the bureau runs: ``federated.apps.server:app``.

Uses the legacy-compatible ``main`` entry (SecAgg+ in flwr 1.41 needs the legacy
strategy API). A failed run raises, so the SuperLink marks the run failed.
"""

from __future__ import annotations

from flwr.app import Context
from flwr.server import Grid
from flwr.serverapp import ServerApp

__all__ = ["app"]

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run one federated training run (see :func:`federated.server.runner.run_federation`)."""
    from federated.server.runner import run_federation

    run_federation(grid, context)
