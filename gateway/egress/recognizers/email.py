"""EMAIL: our own offline e-mail pattern (Presidio's OfflineEmailRecognizer fetches a TLD list)."""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register

_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"


@register
class OfflineEmailRecognizer(ValidatedRecognizer):
    """Addresses ``local@label.label.tld`` with an alphabetic TLD of 2–24 letters; no network lookup."""

    ENTITY = "EMAIL"
    PATTERNS = (
        re.compile(
            f"(?<![A-Za-z0-9._%+-])(?P<v>[A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}@(?:{_LABEL}\\.)+[A-Za-z]{{2,24}})"
            "(?![A-Za-z0-9-])"
        ),
    )
    CONTEXT = ("邮箱", "邮件", "email", "Email", "E-mail")

    def score(self, candidate: str) -> float | None:
        """Return 0.9 unless the local part has consecutive or trailing dots.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        local = candidate.split("@", 1)[0]
        if ".." in local or local.endswith("."):
            return None
        return 0.9
