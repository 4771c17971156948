"""CN_MOBILE: mainland mobile numbers with optional +86/0086, separators and full-width digits."""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import (
    NOT_DIGIT_AFTER,
    NOT_DIGIT_BEFORE,
    SEP,
    ValidatedRecognizer,
    digits,
)
from gateway.egress.registry import register
from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_mobile

_PREFIX = (
    "(?:(?:[+\uff0b]|00|\uff10\uff10)(?:86|\uff18\uff16)|[(\uff08][+\uff0b]?(?:86|\uff18\uff16)[)\uff09])"
)


@register
class MobileRecognizer(ValidatedRecognizer):
    """Eleven-digit numbers starting 13–19, checked with :func:`normalise_mobile`."""

    ENTITY = "CN_MOBILE"
    PATTERNS = (
        re.compile(
            f"{NOT_DIGIT_BEFORE}(?=(?P<v>(?:{_PREFIX}{SEP}?)?[1\uff11][3-9\uff13-\uff19]{digits('9')}){NOT_DIGIT_AFTER})"
        ),
    )
    CONTEXT = ("手机", "电话", "号码", "联系方式", "来电", "致电", "短信", "微信", "打")

    def score(self, candidate: str) -> float | None:
        """Return 0.7 for a valid mobile number, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score, or ``None`` when the number is not a mainland mobile.

        """
        try:
            normalise_mobile(candidate.replace("\uff08", "(").replace("\uff09", ")"))
        except InvalidInputError:
            return None
        return 0.7
