"""The privacy budget's figures, the regulator's view of its ledger, and the cache of releases.

Each member keeps its ledger in its store (``gateway.reports.ledger``): every attempt it
answers is charged, refunded only when it can verify the attempt is never opened. OpenDP
enforces budgets in memory only (REFERENCE.md), so the ledger persists.

A repeated request (same template, period and regulator) is answered from the cached
release, never re-noised: fresh noise on a repeat would let the regulator average it away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file
from gateway.errors import StoreError
from gateway.reports._files import locked, read_lines, write_lines
from gateway.reports.errors import AlreadyReleasedError
from gateway.reports.release import Release, ReleaseKey

__all__ = [
    "BUDGET_FILE",
    "AlreadyReleasedError",
    "BudgetPolicy",
    "LedgerEntry",
    "ReleaseCache",
]

BUDGET_FILE = "privacy_budget.toml"


class BudgetPolicy(BaseModel):
    """``policies/privacy_budget.toml``, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["borrower"]
    accounting: Literal["zCDP"]
    rho_per_regulator_period: float = Field(gt=0, le=10)
    # Every regulator together, per member and period: a cap no number of regulators exceeds.
    rho_per_member_period: float = Field(gt=0, le=30)
    delta_for_statement: float = Field(gt=0, lt=1e-3)

    @classmethod
    def from_file(cls, path: Path) -> BudgetPolicy:
        """Load and validate the budget file.

        Raises
        ------
        ConfigError
            When the file is missing, not TOML or invalid; the message names the key.

        """
        return load_policy_file(cls, path)


@dataclass(frozen=True)
class LedgerEntry:
    """One release as the regulator's report lists it (each charged at every member)."""

    regulator: str
    period: str
    template_id: str
    template_version: int
    request_hash: str
    rho: float
    charged_at: str


class ReleaseCache:
    """Releases by key; a repeated request is answered from here and never re-noised.

    Kept by the bureau, which opens the noisy sums and answers repeats from here, and by the
    regulator's client (what it received). ``put`` never replaces a different release.

    Parameters
    ----------
    path
        The JSON-lines file (``<data dir>/reports/release-cache.jsonl``).

    """

    def __init__(self, path: Path) -> None:
        self._path = path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ReleaseCache:
        """The cache kept under a node's data dir."""
        return cls(data_dir / "reports" / "release-cache.jsonl")

    def all(self) -> list[Release]:
        """Every cached release, oldest first."""
        return [Release.from_json(record) for record in read_lines(self._path)]

    def get(self, key: ReleaseKey) -> Release | None:
        """The cached release for ``key``, if any."""
        for record in read_lines(self._path):
            release = Release.from_json(record)
            if release.key == key:
                return release
        return None

    def put(self, release: Release) -> Release:
        """Cache ``release`` and return what is cached for its key (the first one wins).

        A concurrent writer that got there first keeps its release: both callers then
        return the same one, so two racing requests still see one noise draw.
        """
        with locked(self._path):
            records = read_lines(self._path)
            for record in records:
                cached = Release.from_json(record)
                if cached.key == release.key:
                    return cached
            write_lines(self._path, [*records, release.to_json()])
            return release

    def get_or_release(self, key: ReleaseKey, produce: Callable[[], Release]) -> Release:
        """Return the cached release for ``key``, or produce, cache and return a new one.

        Raises
        ------
        StoreError
            When ``produce`` returns a release for another key.

        """
        cached = self.get(key)
        if cached is not None:
            return cached
        release = produce()
        if release.key != key:
            raise StoreError(f"expected a release for {key}, received one for {release.key}")
        return self.put(release)
