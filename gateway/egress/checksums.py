"""Check digits and plausibility checks used by the structured recognizers.

Each function takes the *folded* form (ASCII digits and capitals, no
separators; see :func:`gateway.identifiers.text.fold_digits`).
"""

from __future__ import annotations

# GB/T 2260 province-level codes: the first two digits of a resident ID.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82", "83",
    }
)  # fmt: skip

# GB 32100-2015: the 31 characters of a unified social credit code, in value order.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def luhn_valid(digits: str) -> bool:
    """Return whether ``digits`` carries a valid Luhn (ISO/IEC 7812-1) check digit.

    Parameters
    ----------
    digits
        ASCII digits only; anything else gives ``False``.

    Returns
    -------
    bool
        ``True`` when the weighted sum is a multiple of 10.

    """
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters of a USCC.

    Parameters
    ----------
    first17
        Seventeen characters of :data:`USCC_ALPHABET`.

    Returns
    -------
    str
        The 18th character.

    Raises
    ------
    ValueError
        When ``first17`` is not 17 characters of the alphabet.

    """
    if len(first17) != 17 or any(char not in USCC_ALPHABET for char in first17):
        raise ValueError("expected 17 characters of the GB 32100 alphabet")
    total = sum(
        USCC_ALPHABET.index(char) * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    """Return whether ``code`` is an 18-character USCC with a matching check character.

    Parameters
    ----------
    code
        Candidate code, upper case.

    Returns
    -------
    bool
        ``True`` when the alphabet, the length and the GB 32100 check all hold.

    """
    if len(code) != 18 or any(char not in USCC_ALPHABET for char in code):
        return False
    return uscc_check_char(code[:17]) == code[17]
