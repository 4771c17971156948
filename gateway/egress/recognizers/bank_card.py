"""BANK_CARD: 16–19 digit card numbers with a Luhn check plus an issuer prefix or context."""

from __future__ import annotations

import re

from gateway.egress.checksums import luhn_valid
from gateway.egress.recognizers._base import NOT_DIGIT_AFTER, NOT_DIGIT_BEFORE, D, ValidatedRecognizer, digits
from gateway.egress.registry import register
from gateway.identifiers.text import fold_digits

# Issuer prefixes (ISO/IEC 7812 IINs) of the cards seen in China: UnionPay 62 and 60/81 ranges,
# Visa 4, Mastercard 51–55 and 2221–2720, JCB 35, American Express and Diners are 15/14 digits.
_ISSUERS = re.compile(r"62|60|81|4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|35(?:2[89]|[3-8]\d)")


@register
class BankCardRecognizer(ValidatedRecognizer):
    """Luhn-valid 16–19 digit numbers.

    With a known issuer prefix the score is over the threshold; without one it
    is 0.3 and only a context word (卡号, 银行卡, 账号…) lifts it over. Numbers
    introduced as order, serial or member numbers are dropped.
    """

    ENTITY = "BANK_CARD"
    PATTERNS = (re.compile(f"{NOT_DIGIT_BEFORE}(?=(?P<v>{D}{digits('15,18')}){NOT_DIGIT_AFTER})"),)
    CONTEXT = (
        "卡号",
        "银行卡",
        "账号",
        "帐号",
        "账户",
        "帐户",
        "储蓄卡",
        "信用卡",
        "借记卡",
        "开户",
        "转账",
        "户名",
        "卡",
        "收款",
    )
    NEGATIVE_CONTEXT = (
        "订单",
        "单号",
        "流水",
        "编号",
        "工号",
        "会员",
        "快递",
        "运单",
        "交易号",
        "案号",
        "批次",
    )

    def score(self, candidate: str) -> float | None:
        """Return 0.6 with an issuer prefix, 0.3 without, ``None`` when the Luhn check fails.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        folded = fold_digits(candidate)
        if not 16 <= len(folded) <= 19 or not luhn_valid(folded):
            return None
        return 0.6 if _ISSUERS.match(folded) else 0.3
