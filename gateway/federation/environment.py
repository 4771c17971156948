"""What every Flower child process gets: no telemetry, no update check, no installs.

Flower 1.41 reports telemetry and checks for updates over the internet unless
told not to, and installs an app's dependencies at run time (``uv sync``) unless
disabled; a consortium node must do none of these. ``FLWR_HOME`` keeps Flower's
app cache and config inside the node's data folder instead of ``~/.flwr``.
"""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from gateway.federation.errors import FederationError

QUIET_FLOWER = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
}
# The bureau's flower-superexec polls the SuperLink for a ServerApp to launch every 1 s by
# default: 0.5 s starts a run sooner at two loopback calls a second (0.1 s cost the SuperLink
# ten calls a second, idle or not). Members run no superexec (gateway/_internal/fast_supernode.py).
# Overridable from the environment.
SUPEREXEC_POLL_ENV = "FLWR_SUPEREXEC_TASK_POLL_INTERVAL"
SUPEREXEC_POLL_SECONDS = "0.5"


def flower_environment(base: Mapping[str, str], *, flwr_home: Path) -> dict[str, str]:
    """``base`` plus the quiet-Flower variables and ``FLWR_HOME``; the venv's bin first on PATH."""
    env = dict(base)
    env.update(QUIET_FLOWER)
    env.setdefault(SUPEREXEC_POLL_ENV, SUPEREXEC_POLL_SECONDS)
    env["FLWR_HOME"] = str(flwr_home)
    # flower-superlink / flower-supernode spawn flower-superexec and flwr-*app by name.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}" if env.get("PATH") else bin_dir
    flwr_home.mkdir(parents=True, exist_ok=True)
    return env


def flower_executable(name: str) -> str:
    """Absolute path of a Flower console script installed next to this interpreter.

    Raises
    ------
    FederationError
        When the script is not installed (flwr missing from the environment).

    """
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FederationError(f"{name} is not installed next to {sys.executable}; install flwr==1.41.0")
    return found


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for children that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
