"""CN_LICENSE_PLATE: mainland vehicle plates (GA 36), including 8-character new-energy plates."""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "[A-HJ-NP-Z]"
_X = "[A-HJ-NP-Z0-9]"


@register
class LicensePlateRecognizer(ValidatedRecognizer):
    """Province character, issuing-office letter and 5 (or 6 for new energy) characters."""

    ENTITY = "CN_LICENSE_PLATE"
    PATTERNS = (
        re.compile(
            f"(?P<v>[{_PROVINCES}]{_L}[·•・ ]?"
            f"(?:[DF]{_X}{{5}}|{_X}{{5}}[DF]?|{_X}{{4}}[挂学警港澳]))(?![A-Za-z0-9])"
        ),
    )
    CONTEXT = ("车牌", "牌照", "车辆", "号牌", "小轿车", "汽车")

    def score(self, candidate: str) -> float | None:
        """Return 0.75 when the serial part holds at least one digit, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        return 0.75 if any(char.isdigit() for char in candidate[2:]) else None
