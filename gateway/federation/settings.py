"""The ``[federation]`` table of a node's TOML file.

.. code-block:: toml

    [federation]
    enabled = true                      # or start the node with --federated
    relay_listen = "0.0.0.0:7443"       # bureau: where members reach the fleet relay (mTLS)
    relay_address = "bureau.example:7443"  # member: the bureau's fleet relay
    features_table = "loans"            # member, optional: train on this table of the store's
                                        # database instead of the imported model_rows

``CREDGATE_FEDERATION_RELAY`` overrides both addresses (one value serves a whole
consortium on one machine). The bundle allow-list is
``<policies_dir>/federated_bundles.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.config import Settings
from gateway.errors import ConfigError

RELAY_ENV = "CREDGATE_FEDERATION_RELAY"
BUNDLES_FILE = "federated_bundles.toml"
DEFAULT_RELAY_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class FederationSettings:
    """Where the Flower parts of one node live and how they are reached.

    Attributes
    ----------
    enabled
        Whether the node starts its Flower parts.
    relay_listen
        Bureau: ``host:port`` of the mTLS fleet relay.
    relay_address
        Member: ``host:port`` of the bureau's fleet relay (``None`` on the bureau).
    bundles_path
        The allow-list of app bundle SHA-256s.
    state_dir
        ``<data_dir>/federation``: Flower's state, keys, logs and run outputs.

    """

    enabled: bool
    relay_listen: str
    relay_address: str | None
    bundles_path: Path
    state_dir: Path
    features_table: str | None = None

    @classmethod
    def from_file(
        cls, path: Path, node: Settings, *, environ: Mapping[str, str], force_enabled: bool = False
    ) -> FederationSettings:
        """Read ``[federation]`` from the node's TOML file (already validated by :class:`Settings`).

        Raises
        ------
        ConfigError
            When a key of ``[federation]`` has the wrong type.

        """
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8")).get("federation", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read [federation] from {path}: {exc}") from exc
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path}: [federation] must be a table")
        enabled = raw.get("enabled", False)
        listen = raw.get("relay_listen", DEFAULT_RELAY_LISTEN)
        address = raw.get("relay_address")
        if not isinstance(enabled, bool):
            raise ConfigError(f"{path}: federation.enabled must be true or false")
        for key, value in (("relay_listen", listen), ("relay_address", address)):
            if value is not None and (not isinstance(value, str) or ":" not in value):
                raise ConfigError(f"{path}: federation.{key} must be a 'host:port' string")
        table = raw.get("features_table")
        if table is not None and (not isinstance(table, str) or not table.replace("_", "").isalnum()):
            raise ConfigError(f"{path}: federation.features_table must be a table name (letters, digits, _)")
        override = environ.get(RELAY_ENV)
        if override:
            listen, address = override, override
        return cls(
            enabled=enabled or force_enabled,
            relay_listen=str(listen),
            relay_address=None if address is None else str(address),
            bundles_path=node.policies_dir / BUNDLES_FILE,
            state_dir=node.data_dir / "federation",
            features_table=table,
        )
