"""Resident identity card numbers (居民身份证号码), GB 11643-1999.

An 18-character number is a 6-digit region code, an 8-digit birth date, a
3-digit sequence and a check character computed with ISO 7064 MOD 11-2. The
legacy 15-digit form has a 6-digit birth date (19YYMMDD) and no check character;
it is normalised to the 18-character form so that both name the same person.
"""

from __future__ import annotations

import datetime as dt
import re

from gateway.errors import InvalidInputError
from gateway.identifiers.text import fold_digits

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_EIGHTEEN = re.compile(r"[1-9]\d{16}[\dX]")
_FIFTEEN = re.compile(r"[1-9]\d{14}")


def resident_id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidInputError("expected 17 digits", field="resident_id")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalise_resident_id(value: str, *, field: str = "resident_id") -> str:
    """Return the canonical 18-character form of a resident ID or raise.

    Full-width digits, spaces, dashes and a lower-case ``x`` are accepted;
    a 15-digit legacy number is converted to 18 characters.

    Raises
    ------
    InvalidInputError
        When the format, the birth date or the check character is wrong.

    """
    folded = fold_digits(value).upper()
    if _FIFTEEN.fullmatch(folded):
        first17 = folded[:6] + "19" + folded[6:]
        folded = first17 + resident_id_check_char(first17)
    elif not _EIGHTEEN.fullmatch(folded):
        raise InvalidInputError(
            "expected 18 characters (17 digits and a digit or X) or 15 digits", field=field
        )
    _check_birth_date(folded[6:14], field=field)
    if resident_id_check_char(folded[:17]) != folded[17]:
        raise InvalidInputError("check character does not match (GB 11643 MOD 11-2)", field=field)
    return folded


def _check_birth_date(yyyymmdd: str, *, field: str) -> None:
    try:
        born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise InvalidInputError(f"birth date {yyyymmdd} is not a calendar date", field=field) from None
    if born.year < 1900:
        raise InvalidInputError(f"birth year {born.year} is before 1900", field=field)
