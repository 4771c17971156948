"""Node settings: one immutable object built at start-up from a TOML file.

A node's file names its TLS material, its store and (for a member) the bureau.
``CREDGATE_*`` environment variables override single values, e.g.
``CREDGATE_STORE_URL=postgresql+psycopg://…``. Nothing below the CLI and this
module reads the environment.

The file is validated strictly: a section or key this module does not know is an
error naming the key, the file and (when one is close) the key that was meant, so a
misspelt ``[tsl]`` or ``hearbeat_seconds`` never passes silently. Relative paths,
a relative SQLite database included, are resolved against the file's folder.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.errors import ConfigError

# Written by a running node into its data_dir: its member id, role, address and pid.
RUNTIME_FILE = "runtime.json"

ENV_OVERRIDES = {
    "CREDGATE_STORE_URL": ("store", "url"),
    "CREDGATE_LISTEN": ("node", "listen"),
    "CREDGATE_BUREAU_ADDRESS": ("bureau", "address"),
    "CREDGATE_METRICS_LISTEN": ("metrics", "listen"),
}

# Every section and key a node's file may hold. ``[federation]`` is read by
# gateway.federation.settings; its keys are listed here so that a typo there is caught too.
KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "node": frozenset(
        {"member_id", "listen", "advertise_address", "data_dir", "heartbeat_seconds", "policies_dir"}
    ),
    "store": frozenset({"url"}),
    "tls": frozenset({"ca_cert", "cert", "key", "crl"}),
    "bureau": frozenset({"address", "member_id"}),
    "server": frozenset(
        {
            "max_workers",
            "max_concurrent_rpcs",
            "max_calls_per_peer",
            "max_streams_per_peer",
            "idle_stream_seconds",
            "shutdown_grace_seconds",
        }
    ),
    "metrics": frozenset({"listen"}),
    "federation": frozenset({"enabled", "relay_listen", "relay_address", "features_table"}),
    # The bureau only: the CA folder it copies into the consortium key log (docs/audit.md).
    "ca": frozenset({"dir"}),
}


@dataclass(frozen=True)
class ServerLimits:
    """How much of a node one caller, and all callers together, may occupy (``[server]``).

    Attributes
    ----------
    max_workers
        Threads serving calls.
    max_concurrent_rpcs
        Calls admitted at once (running or queued for a thread); gRPC answers
        RESOURCE_EXHAUSTED beyond it instead of queueing without bound.
    max_calls_per_peer
        Calls one certificate may have in progress at once.
    max_streams_per_peer
        Streaming calls one certificate may hold open at once: a stream can wait on its
        client, so these are what an idle or hostile client could pin threads with.
    idle_stream_seconds
        A stream whose client neither sends the next message nor takes the next answer for
        this long is closed, freeing its thread.
    shutdown_grace_seconds
        How long a stopping node lets calls in flight finish before cancelling them.

    """

    max_workers: int = 32
    max_concurrent_rpcs: int = 128
    max_calls_per_peer: int = 24
    max_streams_per_peer: int = 8
    idle_stream_seconds: float = 30.0
    shutdown_grace_seconds: float = 5.0


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
    advertise_address
        ``host:port`` other nodes reach this node at, when it differs from ``listen``
        (``listen = "0.0.0.0:7443"`` behind a host name); ``None`` derives it from ``listen``.
    server
        Concurrency bounds and time-outs of the node's gRPC server.
    metrics_listen
        Loopback ``host:port`` serving Prometheus metrics; ``None`` serves none.
    source
        The file the settings came from (for messages), or ``None``.
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
    advertise_address: str | None = None
    server: ServerLimits = field(default_factory=ServerLimits)
    metrics_listen: str | None = None
    source: Path | None = None
    ca_dir: Path | None = None

    @classmethod
    def from_file(cls, path: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
        """Load settings from a TOML file, applying ``CREDGATE_*`` overrides.

        Relative paths in the file (a relative SQLite database included) are resolved
        against the file's folder, whatever the working directory.

        Raises
        ------
        ConfigError
            When the file cannot be read, holds a section or key this version does not
            know, or a required key is missing or mistyped; the message names the file
            and the key.

        """
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        check_known_keys(raw, source=str(path))
        _apply_env(raw, os.environ if environ is None else environ)
        return replace(cls.from_mapping(raw, base=path.parent.resolve(), source=str(path)), source=path)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, base: Path, source: str) -> Settings:
        """Build settings from an already-parsed mapping (see :meth:`from_file`)."""
        reader = _Reader(raw, base=base, source=source)
        data_dir = reader.path("node", "data_dir")
        metrics_listen = reader.optional_text("metrics", "listen")
        if metrics_listen is not None:
            _check_loopback(metrics_listen, source=source)
        advertise = reader.optional_text("node", "advertise_address")
        if advertise is not None:
            _check_host_port(advertise, key="node.advertise_address", source=source)
        return cls(
            member_id=reader.text("node", "member_id"),
            listen=reader.text("node", "listen", default="127.0.0.1:0"),
            data_dir=data_dir,
            store_url=_resolve_store_url(
                reader.text("store", "url", default=f"sqlite:///{data_dir / 'store.db'}"), base, source
            ),
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
            advertise_address=advertise,
            server=ServerLimits(
                max_workers=reader.integer("server", "max_workers", default=ServerLimits.max_workers),
                max_concurrent_rpcs=reader.integer(
                    "server", "max_concurrent_rpcs", default=ServerLimits.max_concurrent_rpcs
                ),
                max_calls_per_peer=reader.integer(
                    "server", "max_calls_per_peer", default=ServerLimits.max_calls_per_peer
                ),
                max_streams_per_peer=reader.integer(
                    "server", "max_streams_per_peer", default=ServerLimits.max_streams_per_peer
                ),
                idle_stream_seconds=reader.number(
                    "server", "idle_stream_seconds", default=ServerLimits.idle_stream_seconds
                ),
                shutdown_grace_seconds=reader.number(
                    "server", "shutdown_grace_seconds", default=ServerLimits.shutdown_grace_seconds
                ),
            ),
            metrics_listen=metrics_listen,
            ca_dir=reader.optional_path("ca", "dir"),
        )


def check_known_keys(raw: Mapping[str, Any], *, source: str) -> None:
    """Refuse a section or key this version does not know, naming it, the file and a likely fix.

    Raises
    ------
    ConfigError
        On the first unknown section or key (sections and keys in file order).

    """
    for section, table in raw.items():
        if section not in KNOWN_KEYS:
            raise ConfigError(f"{source}: unknown section [{section}]{_did_you_mean(section, KNOWN_KEYS)}")
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: [{section}] must be a table of keys")
        for key in table:
            if key not in KNOWN_KEYS[section]:
                raise ConfigError(
                    f"{source}: unknown key {section}.{key}{_did_you_mean(key, KNOWN_KEYS[section])}"
                )


def _did_you_mean(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    listing = ", ".join(sorted(known))
    return f" (did you mean {close[0]!r}? known: {listing})" if close else f" (known: {listing})"


def _resolve_store_url(url: str, base: Path, source: str) -> str:
    """A SQLite URL with a relative database path, made absolute against the config's folder."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"{source}: store.url is not a database URL: {exc}") from exc
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return url
    path = Path(database)
    if path.is_absolute():
        return url
    return parsed.set(database=str((base / path).resolve())).render_as_string(hide_password=False)


def _check_host_port(value: str, *, key: str, source: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{source}: {key} must be 'host:port', received {value!r}")
    return host.strip("[]"), int(port)


def _check_loopback(value: str, *, source: str) -> None:
    host, _ = _check_host_port(value, key="metrics.listen", source=source)
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"{source}: metrics.listen must be a loopback address (127.0.0.1:PORT), received {value!r}; "
            "metrics are served without TLS, so scrape them on the host or through your own proxy"
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

    def integer(self, section: str, key: str, *, default: int) -> int:
        value = self._value(section, key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{self._source}: {section}.{key} must be a positive whole number")
        return value

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
