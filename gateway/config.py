"""Node settings: one immutable object built at start-up from a TOML file.

A node's file names its TLS material, its store and (for a member) the bureau.
``CREDGATE_*`` environment variables override single values, e.g.
``CREDGATE_STORE_URL=postgresql+psycopg://…``. Nothing below the CLI and this
module reads the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

# Written by a running node into its data_dir: its member id, role, address and pid.
RUNTIME_FILE = "runtime.json"

ENV_OVERRIDES = {
    "CREDGATE_STORE_URL": ("store", "url"),
    "CREDGATE_LISTEN": ("node", "listen"),
    "CREDGATE_BUREAU_ADDRESS": ("bureau", "address"),
}


@dataclass(frozen=True)
class TLSSettings:
    """Paths to the node's mTLS material, issued by ``credgate ca issue``."""

    ca_cert: Path
    cert: Path
    key: Path
    crl: Path | None


@dataclass(frozen=True)
class Settings:
    """Everything a node or the bureau needs to start.

    Attributes
    ----------
    member_id
        The id the node's certificate was issued for; checked against it at start.
    listen
        ``host:port`` the node serves on; port ``0`` lets the OS choose.
    data_dir
        Where the node keeps its runtime files (port file, logs).
    store_url
        SQLAlchemy URL of the local store (SQLite by default).
    bureau_address
        ``host:port`` of the bureau; ``None`` on the bureau itself.
    bureau_member_id
        The member id in the bureau's certificate, checked as the TLS target name.
    heartbeat_seconds
        Interval between a member's heartbeats.
    policies_dir
        Folder holding the Cedar policies, schema and egress rules.
    ca_dir
        The bureau only: the consortium CA's folder, whose issued and revoked certificates
        the bureau writes into the consortium key log (``[ca] dir``).

    """

    member_id: str
    listen: str
    data_dir: Path
    store_url: str
    tls: TLSSettings
    bureau_address: str | None
    bureau_member_id: str
    heartbeat_seconds: float
    policies_dir: Path
    ca_dir: Path | None = None

    @classmethod
    def from_file(cls, path: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
        """Load settings from a TOML file, applying ``CREDGATE_*`` overrides.

        Relative paths in the file are resolved against the file's folder.

        Raises
        ------
        ConfigError
            When the file cannot be read or a required key is missing or mistyped.

        """
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        _apply_env(raw, os.environ if environ is None else environ)
        return cls.from_mapping(raw, base=path.parent, source=str(path))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, base: Path, source: str) -> Settings:
        """Build settings from an already-parsed mapping (see :meth:`from_file`)."""
        reader = _Reader(raw, base=base, source=source)
        data_dir = reader.path("node", "data_dir")
        return cls(
            member_id=reader.text("node", "member_id"),
            listen=reader.text("node", "listen", default="127.0.0.1:0"),
            data_dir=data_dir,
            store_url=reader.text("store", "url", default=f"sqlite:///{data_dir / 'store.db'}"),
            tls=TLSSettings(
                ca_cert=reader.path("tls", "ca_cert"),
                cert=reader.path("tls", "cert"),
                key=reader.path("tls", "key"),
                crl=reader.optional_path("tls", "crl"),
            ),
            bureau_address=reader.optional_text("bureau", "address"),
            bureau_member_id=reader.text("bureau", "member_id", default="bureau"),
            heartbeat_seconds=reader.number("node", "heartbeat_seconds", default=5.0),
            policies_dir=reader.path("node", "policies_dir", default=str(default_policies_dir())),
            ca_dir=reader.optional_path("ca", "dir"),
        )


def default_policies_dir() -> Path:
    """Return the ``policies/`` folder shipped at the top of the repository."""
    return Path(__file__).resolve().parent.parent / "policies"


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in environ:
            raw.setdefault(section, {})[key] = environ[variable]


class _Reader:
    """Typed access to a parsed TOML document with errors that name the key."""

    def __init__(self, raw: Mapping[str, Any], *, base: Path, source: str) -> None:
        self._raw = raw
        self._base = base
        self._source = source

    def _value(self, section: str, key: str, default: object) -> object:
        table = self._raw.get(section, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{self._source}: [{section}] must be a table")
        value = table.get(key, default)
        if value is None and default is None:
            raise ConfigError(f"{self._source}: missing required key {section}.{key}")
        return value

    def text(self, section: str, key: str, *, default: str | None = None) -> str:
        value = self._value(section, key, default)
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self._source}: {section}.{key} must be a non-empty string")
        return value

    def optional_text(self, section: str, key: str) -> str | None:
        table = self._raw.get(section, {})
        value = table.get(key) if isinstance(table, Mapping) else None
        return None if value is None else self.text(section, key)

    def number(self, section: str, key: str, *, default: float) -> float:
        value = self._value(section, key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{self._source}: {section}.{key} must be a positive number")
        return float(value)

    def path(self, section: str, key: str, *, default: str | None = None) -> Path:
        path = Path(self.text(section, key, default=default))
        return path if path.is_absolute() else (self._base / path).resolve()

    def optional_path(self, section: str, key: str) -> Path | None:
        return None if self.optional_text(section, key) is None else self.path(section, key)
