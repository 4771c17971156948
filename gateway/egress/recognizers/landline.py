"""CN_LANDLINE: fixed-line numbers with an area code (0xx or 0xxx) and 7–8 local digits."""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import NOT_DIGIT_AFTER, NOT_DIGIT_BEFORE, SEP, D, ValidatedRecognizer
from gateway.egress.registry import register
from gateway.identifiers.text import fold_digits

_LOCAL = f"(?:{D}{{3,4}}{SEP}?{D}{{4}}|{D}{{4}}{SEP}?{D}{{3}})"
_AREA = f"(?:[(\uff08][0\uff10]{D}{{2,3}}[)\uff09]|[0\uff10]{D}{{2,3}})"


@register
class LandlineRecognizer(ValidatedRecognizer):
    """Area code plus local number; area codes 010 and 02x have 3 digits and 8 local digits."""

    ENTITY = "CN_LANDLINE"
    PATTERNS = (re.compile(f"{NOT_DIGIT_BEFORE}(?=(?P<v>{_AREA}{SEP}?{_LOCAL}){NOT_DIGIT_AFTER})"),)
    CONTEXT = ("电话", "座机", "固话", "来电", "号码", "单位", "公司", "联系")

    def score(self, candidate: str) -> float | None:
        """Return 0.65 when the area code and the local number lengths agree, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score, or ``None`` for an impossible length split.

        """
        folded = fold_digits(candidate)
        for bracket in "()":
            folded = folded.replace(bracket, "")
        if not folded.isdigit():
            return None
        short_area = folded.startswith(("010", "02"))
        area_len = 3 if short_area else 4
        local = folded[area_len:]
        if folded[1] == "0" or local[0] in "01":
            return None
        if short_area and len(local) != 8:
            return None
        if not short_area and len(local) not in (7, 8):
            return None
        return 0.65
