from __future__ import annotations

import re
from pathlib import Path

from gateway import errors
from gateway.cli.exit_codes import ExitCode, exit_code_for

DOC = Path(__file__).resolve().parents[3] / "docs" / "exit-codes.md"


def test_every_exit_code_is_documented_with_its_name() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| `([A-Z_]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE))

    assert {int(code): name for code, name in rows.items()} == {code.value: code.name for code in ExitCode}


def test_every_gateway_error_class_has_its_own_exit_code() -> None:
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.GatewayError) and cls is not errors.GatewayError
    ]

    codes = {
        cls: exit_code_for(cls("x", field="f") if cls is errors.InvalidInputError else cls("x"))
        for cls in classes
    }

    assert ExitCode.INTERNAL not in codes.values()
    assert len(set(codes.values())) == len(classes)
