"""Load a policy TOML file into a pydantic model, with errors that name the file and the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gateway.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def load_policy_file(model: type[Model], path: Path) -> Model:
    """Read ``path`` and validate it as ``model``.

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML or fails validation; the message names the
        file and the offending key (``histograms.1.dimensions``).

    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(f"{path.name}: {key}: {first['msg']}") from exc
