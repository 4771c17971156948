"""Write a benchmark's results into its own section of ``docs/benchmarks.md``."""

from __future__ import annotations

import platform
import re
from pathlib import Path

from gateway.clock import system_clock

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\nWritten by `make bench`. Machines are shared and noisy: read the ratios "
    "against the baseline measured in the same run, not the absolute times.\n"
)


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``## name`` of the benchmarks page."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else HEADER
    when = f"{system_clock():%Y-%m-%d %H:%M} UTC"
    stamp = f"_{when}, Python {platform.python_version()}, {platform.machine()}_"
    section = f"## {name}\n\n{stamp}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOC.write_text(text.rstrip() + "\n", encoding="utf-8")
