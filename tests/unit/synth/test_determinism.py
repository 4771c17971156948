from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gateway.synth import Composition, SynthOptions, generate_consortium, write_consortium

from .conftest import AS_OF


def write(out: Path, *, seed: int) -> dict[str, bytes]:
    options = SynthOptions(people=400, seed=seed, composition=Composition.default_for(5), as_of=AS_OF)
    write_consortium(generate_consortium(options), out)
    return {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()
    }


def test_same_seed_gives_byte_identical_output(tmp_path: Path) -> None:
    first = write(tmp_path / "a", seed=42)
    second = write(tmp_path / "b", seed=42)
    assert len(first) == 5 * 12 + 2
    assert first == second


def test_different_seed_gives_different_output(tmp_path: Path) -> None:
    first = write(tmp_path / "a", seed=42)
    second = write(tmp_path / "b", seed=43)
    assert first.keys() == second.keys()
    assert first["bank-1/borrowers.csv"] != second["bank-1/borrowers.csv"]
    assert first["truth.json"] != second["truth.json"]


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    script = (
        "import sys, datetime; from pathlib import Path; from gateway.synth import *; "
        "write_consortium(generate_consortium(SynthOptions(people=200, seed=3, "
        "composition=Composition.default_for(4), "
        f"as_of=datetime.date.fromisoformat({AS_OF.isoformat()!r}))), Path(sys.argv[1]))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True, env=env)
    first = {p.relative_to(tmp_path / "1"): p.read_bytes() for p in (tmp_path / "1").rglob("*.*")}
    second = {p.relative_to(tmp_path / "2"): p.read_bytes() for p in (tmp_path / "2").rglob("*.*")}
    assert first and first == second
