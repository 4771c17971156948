"""SUSPECT_IDENTIFIER: identifier-shaped strings that fail their check, masked all the same (fail closed).

A resident ID with a wrong check character is still somebody's ID with a typo; a card number that
fails Luhn is a card number mistyped by one digit; a mobile written ``138.0013.8000`` is a mobile.
The exact recognizers reject them (their checks keep order numbers and amounts out), so this
recognizer masks the near-misses as suspect identifiers and ``--explain`` says which check failed:

* 18 characters shaped like a resident ID (17 digits and a digit or X) that fail the MOD 11-2
  check, the birth date or the region code;
* 18 characters shaped like a unified social credit code (GB 32100 alphabet, six-digit region,
  at least one letter) that fail the check character;
* 16–19 digits that fail Luhn, with a UnionPay prefix (62) or a card word nearby (卡号, 银行卡…);
* a number starting 13–19 written with separators the mobile recognizer does not read (dots,
  slashes, several spaces) or one digit short or long.

Numbers introduced as order, serial, courier or case numbers (订单, 流水, 快递…) are left alone,
as the card recognizer leaves them.
"""

from __future__ import annotations

import re

from gateway.egress.checksums import PROVINCE_CODES, USCC_ALPHABET, luhn_valid, uscc_valid
from gateway.egress.context import has_context
from gateway.egress.recognizers._base import (
    NOT_DIGIT_AFTER,
    NOT_DIGIT_BEFORE,
    SEP,
    D,
    ValidatedRecognizer,
    digits,
)
from gateway.egress.recognizers.bank_card import BankCardRecognizer
from gateway.egress.recognizers.mobile import MobileRecognizer
from gateway.egress.registry import register
from gateway.errors import InvalidInputError
from gateway.identifiers import normalise_resident_id
from gateway.identifiers.text import fold_digits

_ALNUM = "[0-9\uff10-\uff19A-Za-z\uff21-\uff3a\uff41-\uff5a]"
_MOBILE_SEP = "[ \\-.·/_\u3000\uff0d\uff0e\uff0f\u2010-\u2014]"
_SEPARATORS = re.compile(f"{SEP}|{_MOBILE_SEP}|[()（）+＋]")
_CARD_WORDS = ("卡号", "银行卡", "账号", "帐号", "账户", "帐户", "储蓄卡", "信用卡", "借记卡", "开户", "卡")
SCORE = 0.55


def _folded(candidate: str) -> str:
    return _SEPARATORS.sub("", fold_digits(candidate)).upper()


def _resident_id_ok(folded: str) -> bool:
    if folded[:2] not in PROVINCE_CODES:
        return False
    try:
        normalise_resident_id(folded)
    except InvalidInputError:
        return False
    return True


def _read_by_mobile_recognizer(candidate: str) -> bool:
    """Whether the mobile recognizer finds exactly this candidate (it allows one separator between digits)."""
    match = MobileRecognizer.PATTERNS[0].match(candidate)
    return bool(match and match.group("v") == candidate and MobileRecognizer().score(candidate) is not None)


@register
class SuspectIdentifierRecognizer(ValidatedRecognizer):
    """Near-misses of resident IDs, credit codes, bank cards and mobiles."""

    ENTITY = "SUSPECT_IDENTIFIER"
    PATTERNS = (
        re.compile(f"(?<!{_ALNUM})(?=(?P<v>{_ALNUM}(?:{SEP}?{_ALNUM}){{17}})(?!{_ALNUM}))"),
        re.compile(f"{NOT_DIGIT_BEFORE}(?=(?P<v>{D}{digits('15,18')}){NOT_DIGIT_AFTER})"),
        re.compile(
            f"{NOT_DIGIT_BEFORE}(?=(?P<v>(?:(?:[+\uff0b]|00)86{_MOBILE_SEP}*)?[1\uff11][3-9\uff13-\uff19]"
            f"(?:{_MOBILE_SEP}*{D}){{8,10}}){NOT_DIGIT_AFTER})"
        ),
    )
    NEGATIVE_CONTEXT = BankCardRecognizer.NEGATIVE_CONTEXT

    def score(self, candidate: str) -> float | None:
        """Return :data:`SCORE` for a near-miss that needs no context, else ``None``.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        kind = self.kind(candidate)
        return SCORE if kind is not None and kind != "card" else None

    def score_at(self, text: str, start: int, end: int) -> float | None:
        """Score a candidate; a card near-miss also counts after a card word.

        Parameters
        ----------
        text
            The analysed text.
        start, end
            The candidate's offsets.

        Returns
        -------
        float | None
            The score.

        """
        candidate = text[start:end]
        kind = self.kind(candidate)
        if kind == "card" and (
            _folded(candidate).startswith("62") or has_context(text, start, end, _CARD_WORDS)
        ):
            return SCORE
        return SCORE if kind is not None and kind != "card" else None

    def explain(self, candidate: str) -> str:
        """Say which check the candidate failed.

        Parameters
        ----------
        candidate
            The accepted text.

        Returns
        -------
        str
            The reason.

        """
        return {
            "resident_id": "resident-ID shape, check character, birth date or region wrong",
            "uscc": "unified-social-credit-code shape, check character wrong",
            "card": "bank-card shape, Luhn check fails",
            "mobile": "mobile-number shape with unusual separators or one digit off",
        }.get(self.kind(candidate) or "", "identifier shape")

    @staticmethod
    def kind(candidate: str) -> str | None:
        """Return which identifier ``candidate`` nearly is, or ``None`` when it is valid or no near-miss.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        str | None
            ``resident_id``, ``uscc``, ``card``, ``mobile`` or ``None``.

        """
        folded = _folded(candidate)
        if len(folded) == 18 and folded[:17].isdigit() and folded[17] in "0123456789X":
            # A Luhn-valid number that is no valid ID stays suspect too: the card recognizer only
            # takes it with an issuer prefix or a card word, and overlapping findings merge.
            if _resident_id_ok(folded) or uscc_valid(folded):
                return None
            return "resident_id" if folded[0] != "0" else None
        if len(folded) == 18 and all(char in USCC_ALPHABET for char in folded):
            if (
                folded[2:8].isdigit()
                and not folded.isdigit()
                and folded[0] in "123456789ANY"
                and not uscc_valid(folded)
            ):
                return "uscc"
            return None
        if folded.isdigit() and 16 <= len(folded) <= 19 and not candidate.startswith(("+", "\uff0b")):
            return None if luhn_valid(folded) else "card"
        if folded.isdigit() and folded[:1] in "01" and 10 <= len(folded) <= 15:
            national = folded[2:] if folded.startswith("86") and len(folded) >= 12 else folded
            national = national[4:] if national.startswith("0086") else national
            if len(national) == 11 and _read_by_mobile_recognizer(candidate):
                return None
            plausible = 10 <= len(national) <= 12 and national[0] == "1" and national[1] in "3456789"
            if plausible and (len(national) == 11 or _SEPARATORS.search(candidate)):
                return "mobile"
        return None
