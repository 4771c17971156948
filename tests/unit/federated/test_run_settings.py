from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from federated.errors import RunConfigError
from federated.settings import DEFAULT_SPEC, RunSettings


def test_defaults_and_flower_style_values() -> None:
    settings = RunSettings.from_run_config(
        {"model": "lr", "rounds": 3, "secagg": True, "feature-spec": "", "as-of": "2025-06-30"}
    )
    assert settings.model == "lr"
    assert settings.rounds == 3
    assert settings.feature_spec == DEFAULT_SPEC
    assert settings.as_of == dt.date(2025, 6, 30)
    assert settings.output_dir is None
    assert settings.bureau_key is None
    assert RunSettings.from_run_config({"output-dir": "/tmp/x"}).output_dir == Path("/tmp/x")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"rounds": 0}, "rounds"),
        ({"rounds": True}, "rounds"),
        ({"model": "xgboost"}, "model"),
        ({"secagg": "maybe"}, "secagg"),
        ({"dp-epsilon": -1.0}, "dp-epsilon"),
        ({"as-of": "30/06/2025"}, "as-of"),
        ({"holdout-fraction": 1.0}, "holdout-fraction"),
        ({"learning_rate": 0.1}, "unknown keys"),
    ],
)
def test_malformed_values_name_the_key(config: dict[str, object], key: str) -> None:
    with pytest.raises(RunConfigError, match=key):
        RunSettings.from_run_config(config)  # type: ignore[arg-type]
