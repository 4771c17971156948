from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import ConfigError

MINIMAL = """
[node]
member_id = "bank-1"
data_dir = "data"
[tls]
ca_cert = "tls/ca.pem"
cert = "tls/bank-1.pem"
key = "tls/bank-1.key"
[bureau]
address = "127.0.0.1:7443"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_relative_paths_resolve_against_the_file_and_defaults_apply(tmp_path: Path) -> None:
    settings = Settings.from_file(write(tmp_path, MINIMAL), environ={})

    assert settings.tls.cert == tmp_path / "tls" / "bank-1.pem"
    assert settings.store_url == f"sqlite:///{tmp_path / 'data' / 'store.db'}"
    assert (settings.listen, settings.bureau_member_id, settings.tls.crl) == ("127.0.0.1:0", "bureau", None)


def test_environment_overrides_single_values(tmp_path: Path) -> None:
    settings = Settings.from_file(
        write(tmp_path, MINIMAL), environ={"CREDGATE_STORE_URL": "postgresql+psycopg://db/x"}
    )

    assert settings.store_url == "postgresql+psycopg://db/x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace('member_id = "bank-1"', ""), "missing required key node.member_id"),
        (
            MINIMAL.replace("[node]", '[node]\nheartbeat_seconds = "soon"'),
            "node.heartbeat_seconds must be a positive",
        ),
        (MINIMAL + "\n[store]\nurl = 5\n", "store.url must be a non-empty string"),
        ("[node", "not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_file(write(tmp_path, text), environ={})


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        Settings.from_file(tmp_path / "absent.toml", environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "\n[tsl]\ncert = 'x'\n", r"unknown section \[tsl\] \(did you mean 'tls'"),
        (MINIMAL.replace("[node]", "[node]\nhearbeat_seconds = 1"), "unknown key node.hearbeat_seconds"),
        (MINIMAL + "\n[store]\nurl = 'sqlite:///x.db'\npool = 3\n", "unknown key store.pool"),
    ],
)
def test_unknown_sections_and_keys_are_errors_naming_the_key_and_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError, match=message) as refused:
        Settings.from_file(path, environ={})

    assert str(path) in refused.value.message


def test_a_relative_sqlite_path_is_resolved_next_to_the_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = tmp_path / "node"
    config.mkdir()

    settings = Settings.from_file(
        write(config, MINIMAL + "\n[store]\nurl = 'sqlite:///data/store.db'\n"), environ={}
    )

    assert settings.store_url == f"sqlite:///{config / 'data' / 'store.db'}"


def test_metrics_are_served_on_loopback_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"metrics\.listen must be a loopback address"):
        Settings.from_file(write(tmp_path, MINIMAL + "\n[metrics]\nlisten = '0.0.0.0:9464'\n"), environ={})
