"""Generate ``gateway/_proto`` from ``protos/`` (``make proto``; the contract test reuses it).

Runs ``grpc_tools.protoc`` with the mypy plugins, then rewrites the generated
absolute imports (``from credgate.v1 import …``) to live under ``gateway._proto``.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
from pathlib import Path

from grpc_tools import protoc

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "protos"
PACKAGE_DIR = "credgate"
INIT_DOCSTRING = '"""Generated gRPC code; regenerate with `make proto`."""\n'
_IMPORT = re.compile(r"^(from|import) credgate\.v1", re.MULTILINE)


def generate(out_dir: Path) -> None:
    """Write the generated modules and stubs for every ``protos/credgate/v1/*.proto`` into ``out_dir``.

    Raises
    ------
    RuntimeError
        When protoc reports an error.

    """
    shutil.rmtree(out_dir / PACKAGE_DIR, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts = Path(sysconfig.get_path("scripts"))
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR / "v1").glob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    arguments = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={scripts / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={scripts / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        f"--mypy_out={out_dir}",
        f"--mypy_grpc_out={out_dir}",
        *protos,
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError("protoc failed; see its messages above")
    for path in (out_dir / PACKAGE_DIR).rglob("*.py*"):
        path.write_text(
            _IMPORT.sub(r"\1 gateway._proto.credgate.v1", path.read_text(encoding="utf-8")), encoding="utf-8"
        )
    for package in (out_dir / PACKAGE_DIR, out_dir / PACKAGE_DIR / "v1"):
        (package / "__init__.py").write_text(INIT_DOCSTRING, encoding="utf-8")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "gateway" / "_proto")
