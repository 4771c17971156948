"""CN_USCC: the 18-character unified social credit code with its GB 32100 check character."""

from __future__ import annotations

import re

from gateway.egress.checksums import uscc_valid
from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register

_C = "[0-9A-HJ-NPQRTUWXY]"


@register
class USCCRecognizer(ValidatedRecognizer):
    """Unified social credit codes (统一社会信用代码), accepted only with a matching check character."""

    ENTITY = "CN_USCC"
    PATTERNS = (re.compile(f"(?<![0-9A-Za-z])(?P<v>{_C}{{2}}[0-9]{{6}}{_C}{{10}})(?![0-9A-Za-z])"),)
    CONTEXT = ("信用代码", "社会信用", "营业执照", "税号", "纳税人识别号")

    def score(self, candidate: str) -> float | None:
        """Return 0.95 for a valid code, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        return 0.95 if uscc_valid(candidate) else None
