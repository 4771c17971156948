"""Synthetic people: resident IDs, mobiles, names and addresses.

A person's birth date, gender, education and marital status follow the UCI row
of their first account: they are ``AGE`` years old on the reference date and
the parity of the ID's sequence digit matches ``SEX`` (odd for men, GB 11643).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile, normalise_resident_id, resident_id_check_char
from gateway.synth.names import random_name
from gateway.synth.regions import Region, pick_region, region_by_code
from gateway.synth.uci import UCIRow

# Mobile number prefixes of the three mainland carriers (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "178",
    "182",
    "183",
    "184",
    "187",
    "188",
    "198",
    "130",
    "131",
    "132",
    "155",
    "156",
    "166",
    "175",
    "176",
    "185",
    "186",
    "133",
    "149",
    "153",
    "173",
    "177",
    "180",
    "181",
    "189",
    "191",
    "199",
)
_EDUCATION = {1: "graduate", 2: "university", 3: "high_school", 4: "other"}
_MARITAL = {1: "married", 2: "single", 3: "other"}


@dataclass(frozen=True, slots=True)
class SeedPerson:
    """A person supplied by the caller to be planted first (canary tests).

    Attributes
    ----------
    resident_id, name, mobile
        Normalised identifiers.

    """

    resident_id: str
    name: str
    mobile: str


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic borrower.

    Attributes
    ----------
    index
        Position in the population, ``0 … P-1``; the key of ``truth.json``.
    resident_id, name, mobile, address
        Personal identifiers (synthetic).
    region
        Region of the ID and of the address.
    birth_date
        Encoded in the resident ID.
    gender, education, marital_status
        Canonical values taken from the first UCI row.
    first_row
        The UCI row of the person's first account.

    """

    index: int
    resident_id: str
    name: str
    mobile: str
    address: str
    region: Region
    birth_date: dt.date
    gender: str
    education: str
    marital_status: str
    first_row: UCIRow

    @property
    def risky(self) -> bool:
        """Return whether the person's first account defaulted."""
        return self.first_row.defaulted == 1


def load_seed_pii(path: Path) -> tuple[SeedPerson, ...]:
    """Read a JSON list of ``{"resident_id", "name", "mobile"}`` objects.

    Parameters
    ----------
    path
        The JSON file.

    Returns
    -------
    tuple of SeedPerson
        Validated, normalised people in file order.

    Raises
    ------
    InvalidInputError
        When the file is unreadable, not a list of such objects, or an identifier is invalid.

    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read JSON from {path.name}", field="seed_pii") from exc
    if not isinstance(data, list):
        raise InvalidInputError("expected a JSON list of people", field="seed_pii")
    people = []
    for position, item in enumerate(data):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("resident_id", "name", "mobile")
        ):
            raise InvalidInputError(
                f"entry {position}: expected string resident_id, name and mobile", field="seed_pii"
            )
        people.append(
            SeedPerson(
                resident_id=normalise_resident_id(
                    item["resident_id"], field=f"seed_pii[{position}].resident_id"
                ),
                name=item["name"].strip(),
                mobile=normalise_mobile(item["mobile"], field=f"seed_pii[{position}].mobile"),
            )
        )
    return tuple(people)


def build_people(
    rng: random.Random, first_rows: list[UCIRow], *, as_of: dt.date, seeds: tuple[SeedPerson, ...] = ()
) -> tuple[Person, ...]:
    """Create one person per first row; the first ``len(seeds)`` people use the seeded identities.

    Parameters
    ----------
    rng
        Generator dedicated to identities.
    first_rows
        The UCI row of each person's first account.
    as_of
        Reference date at which each person is ``AGE`` years old.
    seeds
        People to plant first.

    Returns
    -------
    tuple of Person
        Unique resident IDs and mobiles.

    """
    used_ids = {seed.resident_id for seed in seeds}
    used_mobiles = {seed.mobile for seed in seeds}
    people = []
    for index, row in enumerate(first_rows):
        seed = seeds[index] if index < len(seeds) else None
        if seed is not None:
            region = region_by_code(seed.resident_id[:6]) or pick_region(rng)
            birth = dt.date(
                int(seed.resident_id[6:10]), int(seed.resident_id[10:12]), int(seed.resident_id[12:14])
            )
            male = int(seed.resident_id[16]) % 2 == 1
            resident_id, name, mobile = seed.resident_id, seed.name, seed.mobile
        else:
            region = pick_region(rng)
            birth = _birth_date(rng, as_of, row.age)
            male = row.sex == 1
            resident_id = _resident_id(rng, region, birth, male=male)
            while resident_id in used_ids:
                resident_id = _resident_id(rng, region, birth, male=male)
            used_ids.add(resident_id)
            name = random_name(rng, male=male)
            mobile = random_mobile(rng)
            while mobile in used_mobiles:
                mobile = random_mobile(rng)
            used_mobiles.add(mobile)
        people.append(
            Person(
                index=index,
                resident_id=resident_id,
                name=name,
                mobile=mobile,
                address=_address(rng, region),
                region=region,
                birth_date=birth,
                gender="male" if male else "female",
                education=_EDUCATION.get(row.education, "unknown"),
                marital_status=_MARITAL.get(row.marriage, "unknown"),
                first_row=row,
            )
        )
    return tuple(people)


def random_mobile(rng: random.Random) -> str:
    """Return an 11-digit mainland mobile number with a real carrier prefix.

    Parameters
    ----------
    rng
        The caller's generator.

    Returns
    -------
    str
        For example ``13812345678``.

    """
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _birth_date(rng: random.Random, as_of: dt.date, age: int) -> dt.date:
    # The latest birth date giving this age on as_of is the same day ``age`` years earlier
    # (28 February for a 29 February reference date); any of the 365 days before also does.
    try:
        latest = as_of.replace(year=as_of.year - age)
    except ValueError:
        latest = as_of.replace(year=as_of.year - age, day=28)
    return latest - dt.timedelta(days=rng.randrange(365))


def _resident_id(rng: random.Random, region: Region, birth: dt.date, *, male: bool) -> str:
    # GB 11643: the third sequence digit is odd for men and even for women.
    sequence = rng.randrange(100) * 10 + rng.randrange(1 if male else 0, 10, 2)
    first17 = f"{region.code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def _address(rng: random.Random, region: Region) -> str:
    address = region.address(rng.choice(region.roads), rng.randint(1, 999))
    if rng.random() < 0.6:
        address += f"{rng.randint(1, 30)}幢{rng.randint(1, 32)}{rng.randint(1, 6):02d}室"
    return address
