"""CN_ADDRESS by rule: administrative units, then a street or village, then a number.

A match must reach a house number (号, 组, 弄…): a bare city or district is not an
address. Leading words swallowed by the lazy place-name classes (前往, 寄至,
住在…) are trimmed.
"""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import D, ValidatedRecognizer
from gateway.egress.registry import register

_CJK = "[\u4e00-\u9fff]"
_NUM = f"(?:{D}{{1,5}}|[一二三四五六七八九十百]{{1,4}})"
_ADMIN = f"(?:{_CJK}{{1,7}}?(?:省|自治区|市|自治州|州|盟|地区|区|县|旗|镇|乡|街道))"
_STREET = f"(?:{_CJK}{{1,10}}?(?:大道|大街|路|街|巷|弄|胡同|道|里|村|社区)(?:{_NUM}段|[东南西北中]段)?)"
_NUMBER = f"(?:{_NUM}(?:号院|号|弄|组|巷))"
_UNIT = (
    f"(?:{_CJK}{{0,8}}?{_NUM}(?:号楼|栋|幢|座|单元|楼|层|室|号|户|组)|(?<=号楼){D}{{3,4}}|(?<=楼){D}{{3,4}})"
)
_LEAD = (
    "外访",
    "记录",
    "前往",
    "寄至",
    "寄到",
    "邮寄到",
    "邮寄",
    "住在",
    "家住",
    "现住",
    "居住",
    "住址",
    "地址",
    "位于",
    "到",
    "至",
    "在",
    "于",
    "为",
    "是",
    "往",
    "去",
    "搬到",
    "来自",
    "住",
    "寄",
)
_LEAD_BY_LENGTH = tuple(sorted(_LEAD, key=len, reverse=True))


@register
class AddressRuleRecognizer(ValidatedRecognizer):
    """Administrative units + street or village + number, then building, unit and room."""

    ENTITY = "CN_ADDRESS"
    PATTERNS = (re.compile(f"(?P<v>{_ADMIN}*{_STREET}{_NUMBER}(?:{_UNIT})*|{_ADMIN}+{_STREET}{_UNIT}+)"),)
    CONTEXT = ("住址", "地址", "家住", "住在", "现住", "户籍", "寄至", "邮寄", "家访", "外访", "居住")

    def score(self, candidate: str) -> float | None:
        """Return 0.6 for a candidate that still has a house number after trimming.

        Parameters
        ----------
        candidate
            The matched text.

        Returns
        -------
        float | None
            The score.

        """
        return 0.6 if len(candidate) >= 5 else None

    def adjust(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Drop leading verbs and labels (前往, 寄至, 住址…) the lazy place-name classes swallowed.

        Parameters
        ----------
        text
            The analysed text.
        start, end
            The raw match.

        Returns
        -------
        tuple[int, int]
            The trimmed span.

        """
        trimmed = True
        while trimmed:
            trimmed = False
            for word in _LEAD_BY_LENGTH:
                if text.startswith(word, start, end):
                    start += len(word)
                    trimmed = True
                    break
        return start, end
