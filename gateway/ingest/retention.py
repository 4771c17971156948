"""Loader for ``policies/retention.toml`` (retention periods of adverse information)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError

RETENTION_FILE = "retention.toml"


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention periods, in whole years.

    Attributes
    ----------
    blacklist_listing_years
        Default life of a blacklist entry (征信业管理条例 Art. 16: five years).

    """

    blacklist_listing_years: int

    def blacklist_expiry(self, listed_on: dt.date) -> dt.date:
        """Return ``listed_on`` plus the listing period (29 February becomes 28 February)."""
        year = listed_on.year + self.blacklist_listing_years
        try:
            return listed_on.replace(year=year)
        except ValueError:
            return listed_on.replace(year=year, day=28)


def load_retention_policy(policies_dir: Path) -> RetentionPolicy:
    """Read ``retention.toml`` from ``policies_dir``.

    Parameters
    ----------
    policies_dir
        The node's policies folder (``Settings.policies_dir``).

    Returns
    -------
    RetentionPolicy
        The validated periods.

    Raises
    ------
    ConfigError
        When the file is missing, not TOML, or ``blacklist.listing_years`` is not
        a whole number from 1 to 100.

    """
    path = policies_dir / RETENTION_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read retention policy {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"retention policy {path} is not valid TOML: {exc}") from exc
    section = raw.get("blacklist")
    years = section.get("listing_years") if isinstance(section, dict) else None
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 100:
        raise ConfigError(f"{path}: blacklist.listing_years must be a whole number from 1 to 100")
    return RetentionPolicy(blacklist_listing_years=years)
