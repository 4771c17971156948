"""CN_RESIDENT_ID: 18-character resident ID (GB 11643 MOD 11-2) and the 15-digit legacy form."""

from __future__ import annotations

import re

from gateway.egress.checksums import PROVINCE_CODES
from gateway.egress.recognizers._base import (
    NOT_DIGIT_AFTER,
    NOT_DIGIT_BEFORE,
    SEP,
    ValidatedRecognizer,
    digits,
)
from gateway.egress.registry import register
from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_resident_id
from gateway.identifiers.text import fold_digits

_CHECK = "[0-9\uff10-\uff19xX\uff58\uff38]"
_END = "(?![0-9\uff10-\uff19A-Za-z])"


@register
class ResidentIDRecognizer(ValidatedRecognizer):
    """Resident ID numbers: region, birth date, sequence and check character all checked.

    The 18-character form is accepted when :func:`normalise_resident_id` accepts it
    (birth date and check character) and the province code exists; the legacy
    15-digit form has no check character, so it scores lower.
    """

    ENTITY = "CN_RESIDENT_ID"
    PATTERNS = (
        re.compile(f"{NOT_DIGIT_BEFORE}(?=(?P<v>[1-9\uff11-\uff19]{digits('16')}{SEP}?{_CHECK}){_END})"),
        re.compile(f"{NOT_DIGIT_BEFORE}(?=(?P<v>[1-9\uff11-\uff19]{digits('14')}){NOT_DIGIT_AFTER})"),
    )
    CONTEXT = ("身份证", "证件", "身份号", "公民身份", "ID")

    def score(self, candidate: str) -> float | None:
        """Return 1.0 for a valid 18-character ID, 0.6 for a plausible 15-digit one, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score, or ``None`` when a check fails.

        """
        folded = fold_digits(candidate).upper()
        if folded[:2] not in PROVINCE_CODES:
            return None
        try:
            normalise_resident_id(folded)
        except InvalidInputError:
            return None
        return 1.0 if len(folded) == 18 else 0.6
