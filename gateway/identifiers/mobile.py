"""Mainland China mobile numbers: 11 digits starting 13–19, optional +86/0086."""

from __future__ import annotations

import re

from gateway.errors import InvalidInputError
from gateway.identifiers.text import fold_digits

_MOBILE = re.compile(r"1[3-9]\d{9}")
_COUNTRY_PREFIXES = ("+86", "0086", "86")


def normalise_mobile(value: str, *, field: str = "mobile") -> str:
    """Return the 11-digit national form of a mainland mobile number or raise.

    ``+86 138-0013-8000``, ``0086 13800138000`` and full-width digits all give
    ``13800138000``.

    Raises
    ------
    InvalidInputError
        When the number is not an 11-digit mainland mobile number.

    """
    folded = fold_digits(value).replace("(", "").replace(")", "")
    for prefix in _COUNTRY_PREFIXES:
        if folded.startswith(prefix) and len(folded) == len(prefix) + 11:
            folded = folded[len(prefix) :]
            break
    if not _MOBILE.fullmatch(folded):
        raise InvalidInputError("expected an 11-digit mainland mobile number starting 13–19", field=field)
    return folded
