"""The persistent privacy budget each member keeps, and the cache of releases.

Each member charges every release it contributes to against a zCDP budget per
(regulator, period) and refuses one that would exceed it (``RateLimited`` →
RESOURCE_EXHAUSTED). OpenDP enforces budgets in memory only (REFERENCE.md), so the ledger
is a JSON-lines file under the node's data dir, rewritten atomically under a file lock.

A repeated request (same template, period and regulator) must be answered from the cached
release, never re-noised: fresh noise on a repeat would let the regulator average it away.
The ledger therefore charges a key once; a second, different request for the same key is
refused with :class:`AlreadyReleasedError` (the bureau answers it from
:class:`ReleaseCache`), while a re-attempt of the *same* request (a member dropped out) is
not charged again, since only one attempt's sum can ever be unmasked.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway._internal.policy_file import load_policy_file
from gateway.errors import RateLimited, StoreError
from gateway.reports._files import locked, read_lines, write_lines
from gateway.reports.errors import AlreadyReleasedError
from gateway.reports.release import Release, ReleaseKey

__all__ = [
    "BUDGET_FILE",
    "AlreadyReleasedError",
    "BudgetPolicy",
    "LedgerEntry",
    "PrivacyLedger",
    "ReleaseCache",
]

BUDGET_FILE = "privacy_budget.toml"
_TOLERANCE = 1e-12


class BudgetPolicy(BaseModel):
    """``policies/privacy_budget.toml``, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["borrower"]
    accounting: Literal["zCDP"]
    rho_per_regulator_period: float = Field(gt=0, le=10)
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
    """One charge: a release this member contributed to."""

    regulator: str
    period: str
    template_id: str
    template_version: int
    request_hash: str
    rho: float
    charged_at: str


class PrivacyLedger:
    """A member's persistent zCDP ledger per (regulator, period).

    Parameters
    ----------
    path
        The JSON-lines file (``<data dir>/reports/privacy-ledger.jsonl``).
    policy
        The budget figures.
    clock
        Returns the current aware UTC time (injected so tests are deterministic).

    """

    def __init__(self, path: Path, policy: BudgetPolicy, *, clock: Callable[[], dt.datetime]) -> None:
        self._path = path
        self._policy = policy
        self._clock = clock

    @classmethod
    def in_data_dir(
        cls, data_dir: Path, policy: BudgetPolicy, *, clock: Callable[[], dt.datetime]
    ) -> PrivacyLedger:
        """The ledger kept under a node's data dir."""
        return cls(data_dir / "reports" / "privacy-ledger.jsonl", policy, clock=clock)

    @property
    def limit(self) -> float:
        """ρ allowed per (regulator, period)."""
        return self._policy.rho_per_regulator_period

    def entries(self, regulator: str, period: str) -> list[LedgerEntry]:
        """The charges for ``regulator`` in ``period``, oldest first."""
        return [e for e in self._read() if e.regulator == regulator and e.period == period]

    def spent(self, regulator: str, period: str) -> float:
        """ρ already spent for ``regulator`` in ``period`` (zCDP composes by addition)."""
        return math.fsum(entry.rho for entry in self.entries(regulator, period))

    def balances(self) -> dict[tuple[str, str], float]:
        """ρ still available per ``(regulator, period)`` charged so far (for the metrics)."""
        spent: dict[tuple[str, str], float] = {}
        for entry in self._read():
            key = (entry.regulator, entry.period)
            spent[key] = spent.get(key, 0.0) + entry.rho
        return {key: max(0.0, self.limit - used) for key, used in spent.items()}

    def remaining(self, regulator: str, period: str) -> float:
        """ρ still available for ``regulator`` in ``period``."""
        return max(0.0, self.limit - self.spent(regulator, period))

    def charge(
        self, key: ReleaseKey, *, template_version: int, request_hash: bytes, rho: float
    ) -> LedgerEntry:
        """Charge a release before this member adds its noise share.

        Returns
        -------
        LedgerEntry
            The new entry, or the existing one when this request was already charged
            (a re-attempt over the survivors of the same request).

        Raises
        ------
        AlreadyReleasedError
            When another request for the same key was charged: answer from the cache.
        RateLimited
            When the charge would exceed the budget (reason ``privacy_budget_exhausted``).

        """
        if not rho > 0 or not math.isfinite(rho):
            raise StoreError(f"expected a positive finite rho, received {rho}")
        with locked(self._path):
            entries = self._read()
            for entry in entries:
                if (entry.template_id, entry.period, entry.regulator) == (
                    key.template_id,
                    key.period,
                    key.regulator,
                ):
                    if entry.request_hash == request_hash.hex():
                        return entry
                    raise AlreadyReleasedError(
                        f"report {key} was already released; expected it to be answered from the cache"
                    )
            spent = math.fsum(
                e.rho for e in entries if e.regulator == key.regulator and e.period == key.period
            )
            if spent + rho > self.limit + _TOLERANCE:
                raise RateLimited(
                    f"privacy budget exhausted for regulator {key.regulator} in {key.period}: "
                    f"this release needs rho {rho:.4g}, {max(0.0, self.limit - spent):.4g} of "
                    f"{self.limit:.4g} remains",
                    reason="privacy_budget_exhausted",
                )
            entry = LedgerEntry(
                key.regulator,
                key.period,
                key.template_id,
                template_version,
                request_hash.hex(),
                rho,
                self._clock().astimezone(dt.UTC).isoformat(),
            )
            write_lines(self._path, [asdict(e) for e in [*entries, entry]])
            return entry

    def _read(self) -> list[LedgerEntry]:
        try:
            return [LedgerEntry(**record) for record in read_lines(self._path)]
        except TypeError as exc:
            raise StoreError(f"{self._path.name}: unexpected ledger record: {exc}") from exc


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
