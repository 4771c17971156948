"""Flower app bundles (FABs): build, hash, and the allow-list members enforce.

``policies/federated_bundles.toml`` lists the SHA-256 of every bundle a member
may run:

.. code-block:: toml

    [[bundle]]
    name = "credgate-delinquency"
    source = "federated/bundle"
    sha256 = "9f2c…"   # credgate bundle-hash federated/bundle

The member's loopback gateway checks the hash a run announces (``GetRun``) and
hashes the bundle bytes it receives (``GetFab``) itself; anything not listed is
refused before the SuperNode sees it.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError
from gateway.federation.errors import BundleNotAllowed, FederationError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def fab_sha256(fab: bytes) -> str:
    """Hex SHA-256 of a bundle's bytes (Flower's own FAB hash)."""
    return hashlib.sha256(fab).hexdigest()


def build_bundle(app_dir: Path) -> bytes:
    """Build the FAB of a Flower app folder exactly as ``flwr run``/``flwr build`` do.

    Raises
    ------
    FederationError
        When the folder is not a valid Flower app.

    """
    from flwr.cli.build import build_fab_from_disk

    try:
        return build_fab_from_disk(app_dir)
    except (ValueError, OSError) as exc:
        raise FederationError(f"cannot build the Flower app in {app_dir}: {exc}") from exc


@dataclass(frozen=True)
class AllowedBundle:
    """One allow-listed bundle."""

    name: str
    sha256: str
    source: str


@dataclass(frozen=True)
class BundleAllowList:
    """The SHA-256s of the bundles members may run (empty denies every bundle)."""

    bundles: tuple[AllowedBundle, ...]
    path: Path

    @classmethod
    def from_file(cls, path: Path) -> BundleAllowList:
        """Load and validate the allow-list; a missing file allows nothing.

        Raises
        ------
        ConfigError
            When the file is not valid TOML or an entry lacks a lower-case hex SHA-256.

        """
        if not path.exists():
            return cls((), path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read bundle allow-list {path}: {exc}") from exc
        entries = raw.get("bundle", [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: [[bundle]] must be an array of tables")
        bundles: list[AllowedBundle] = []
        for index, entry in enumerate(entries):
            digest = entry.get("sha256") if isinstance(entry, dict) else None
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise ConfigError(f"{path}: bundle #{index + 1} needs sha256 = 64 lower-case hex digits")
            bundles.append(AllowedBundle(str(entry.get("name", "")), digest, str(entry.get("source", ""))))
        return cls(tuple(bundles), path)

    def check(self, unverified_sha256: str) -> None:
        """Raise unless the hash is allow-listed.

        Raises
        ------
        BundleNotAllowed
            When ``unverified_sha256`` is not listed.

        """
        if not any(bundle.sha256 == unverified_sha256 for bundle in self.bundles):
            raise BundleNotAllowed(
                f"app bundle {unverified_sha256[:16]}… is not allow-listed in {self.path.name}"
            )

    def check_content(self, fab: bytes) -> None:
        """Hash ``fab`` here and raise unless that hash is allow-listed (see :meth:`check`)."""
        self.check(fab_sha256(fab))
