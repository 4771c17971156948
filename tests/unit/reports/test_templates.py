from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigError
from gateway.reports.templates import ReportTemplate, load_template


def _write(tmp_path: Path, raw: str) -> Path:
    path = tmp_path / "report_templates" / "monthly-risk.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw, encoding="utf-8")
    return path


def _shipped(policies: Path) -> str:
    return (policies / "report_templates" / "monthly-risk.toml").read_text(encoding="utf-8")


def test_shipped_template_loads_with_every_histogram(template: ReportTemplate) -> None:
    assert template.template_id == "monthly-risk"
    assert [h.id for h in template.histograms] == [
        "delinquency",
        "outstanding",
        "inquiries",
        "applications",
        "contact_violations",
        "lenders_per_borrower",
    ]
    delinquency = template.histogram("delinquency")
    # 3 segments x (17 provinces + other) x 6 DPD buckets.
    assert template.shape(delinquency) == (3, 18, 6)
    assert template.coordinates(delinquency, 0) == ("bank", "北京市", "current")
    assert template.release.min_institutions == 5
    assert template.release.max_dominance_share == 0.25


def test_template_is_frozen(template: ReportTemplate) -> None:
    with pytest.raises(ValueError, match="frozen"):
        template.release.noisy_count_threshold = 0


def test_when_histogram_names_unknown_dimension_then_error_names_it(policies: Path, tmp_path: Path) -> None:
    raw = _shipped(policies).replace(
        'dimensions = ["segment", "decision"]', 'dimensions = ["segment", "colour"]'
    )
    _write(tmp_path, raw)
    with pytest.raises(ConfigError, match="unknown dimensions \\['colour'\\]"):
        load_template(tmp_path, "monthly-risk")


def test_when_feed_cannot_fill_dimension_then_rejected(policies: Path, tmp_path: Path) -> None:
    raw = _shipped(policies).replace(
        'dimensions = ["reason_code"]', 'dimensions = ["reason_code", "province"]'
    )
    _write(tmp_path, raw)
    with pytest.raises(ConfigError, match="cannot fill \\['province'\\]"):
        load_template(tmp_path, "monthly-risk")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("noisy_count_threshold = 11", "noisy_count_threshold = -1", "release.noisy_count_threshold"),
        ("max_dominance_share = 0.25", "max_dominance_share = 1.5", "release.max_dominance_share"),
        ("rho = 0.003", "rho = 0", "histograms.0.rho"),
        ('time_zone = "Asia/Shanghai"', 'time_zone = "Mars/Olympus"', "time_zone"),
        ("colluders = 1", "colluders = 1\nsurprise = 2", "release.surprise"),
    ],
)
def test_invalid_value_error_names_the_key(
    policies: Path, tmp_path: Path, old: str, new: str, key: str
) -> None:
    raw = _shipped(policies)
    assert old in raw
    _write(tmp_path, raw.replace(old, new, 1))
    with pytest.raises(ConfigError, match=f"monthly-risk.toml: {key}:"):
        load_template(tmp_path, "monthly-risk")


def test_bucket_lengths_must_match(policies: Path) -> None:
    raw: dict[str, Any] = tomllib.loads(_shipped(policies))
    raw["dimensions"]["dpd_bucket"]["lower_bounds"] = [0, 1, 31]
    with pytest.raises(ValueError, match="as many lower_bounds as labels"):
        ReportTemplate.model_validate(raw)


def test_missing_template_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*monthly-risk\.toml"):
        load_template(tmp_path, "monthly-risk")


def test_dimension_slots(template: ReportTemplate) -> None:
    province = template.dimensions["province"]
    dpd = template.dimensions["dpd_bucket"]
    assert province.slot("上海市") == 4
    assert province.slot("台湾省") == len(province.labels)  # The catch-all "other".
    assert template.dimensions["segment"].slot("credit_card") is None
    assert [dpd.bucket(v) for v in (0, 1, 30, 31, 200)] == [0, 1, 1, 2, 5]


def test_margins_must_be_nested_levels_of_the_histogram(policies: Path, tmp_path: Path) -> None:
    raw = _shipped(policies).replace(
        '{ dimensions = ["segment"], rho = 0.0003 },', '{ dimensions = ["province"], rho = 0.0003 },', 1
    )
    with pytest.raises(ConfigError, match="margins must be nested"):
        load_template(_write(tmp_path, raw).parent.parent, "monthly-risk")


def test_chinese_labels_cover_every_cell(template: ReportTemplate) -> None:
    for dimension in template.dimensions.values():
        assert len(dimension.display_cells("zh")) == len(dimension.cells)
    assert template.display_title("zh") == "月度行业风险报告"
    assert template.release.max_members_per_person >= 1
