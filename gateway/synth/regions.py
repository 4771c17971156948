"""Real county-level region codes (GB/T 2260) with their place names.

The embedded table ``data/regions.csv`` lists about fifty district codes across
seventeen provinces, each with a few real road names, so that generated
resident IDs carry plausible region prefixes and addresses read naturally.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gateway.errors import ConfigError

_MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})


@dataclass(frozen=True, slots=True)
class Region:
    """One county-level division.

    Attributes
    ----------
    code
        Six-digit GB/T 2260 code, the first six digits of a resident ID.
    province, city, district
        Place names; for a municipality ``city`` repeats ``province``.
    roads
        A few real road names in the district, used for addresses.

    """

    code: str
    province: str
    city: str
    district: str
    roads: tuple[str, ...]

    def address(self, road: str, number: int) -> str:
        """Return a postal address such as ``浙江省杭州市西湖区文三路123号``.

        Parameters
        ----------
        road
            One of :attr:`roads`.
        number
            House number.

        Returns
        -------
        str
            Province, city (omitted for municipalities), district, road and number.

        """
        city = "" if self.province in _MUNICIPALITIES else self.city
        return f"{self.province}{city}{self.district}{road}{number}号"


@cache
def load_regions() -> tuple[Region, ...]:
    """Return the embedded region table, ordered by code.

    Returns
    -------
    tuple of Region
        Every row of ``data/regions.csv``.

    Raises
    ------
    ConfigError
        When the packaged table is missing or malformed.

    """
    try:
        text = resources.files("gateway.synth").joinpath("data/regions.csv").read_text(encoding="utf-8")
        rows = [
            Region(row["code"], row["province"], row["city"], row["district"], tuple(row["roads"].split("|")))
            for row in csv.DictReader(text.splitlines())
        ]
    except (OSError, KeyError) as exc:
        raise ConfigError("packaged region table gateway/synth/data/regions.csv is unreadable") from exc
    if not rows or any(len(region.code) != 6 or not region.code.isdigit() for region in rows):
        raise ConfigError("packaged region table must hold six-digit codes")
    return tuple(sorted(rows, key=lambda region: region.code))


def region_by_code(code: str) -> Region | None:
    """Return the region with this six-digit code, or ``None`` when it is not in the table.

    Parameters
    ----------
    code
        Six-digit region code.

    Returns
    -------
    Region or None
        The matching region.

    """
    for region in load_regions():
        if region.code == code:
            return region
    return None


def pick_region(rng: random.Random) -> Region:
    """Return a region drawn uniformly from the table.

    Parameters
    ----------
    rng
        The caller's generator.

    Returns
    -------
    Region
        One region.

    """
    return rng.choice(load_regions())
