"""CN_ADDRESS after an address cue: 现住, 户籍地, 单位地址, 家住, 寄至… up to the end of the clause.

Collection notes introduce addresses with a label, and what follows is an address however it is
written (小区 names, 栋/单元/室, a village without a number, a workplace): this recognizer
does not need to parse it. The span runs from after the cue (and 为/是/在/：) to the end of the
clause or the next label (电话, 手机, 身份证…), at most :data:`MAX_LENGTH` characters, and is kept
when it shows an address: a unit or building word, a digit, or a division name.
"""

from __future__ import annotations

import re

from gateway.egress.gazetteer import matches
from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register

CUES = (
    "现住址", "现居住地", "现居住", "现住", "现居", "家住", "住在", "居住在", "居住于", "居住地",
    "家庭住址", "家庭地址", "住址", "户籍地址", "户籍所在地", "户籍地", "户口所在地", "户籍", "单位地址",
    "工作单位地址", "工作地址", "公司地址", "办公地址", "经营地址", "通讯地址", "联系地址", "收货地址",
    "寄送地址", "邮寄地址", "送达地址", "住所地", "寄至", "寄到", "地址",
)  # fmt: skip
MAX_LENGTH = 40
_LABELS = (
    "电话",
    "手机",
    "联系",
    "身份证",
    "证件",
    "邮箱",
    "微信",
    "工作单位",
    "单位",
    "户籍",
    "现住",
    "家住",
)
_STOP = "，,。；;！？!?\n\t、（(）)"
_EVIDENCE = re.compile(
    r"[0-9０-９一二三四五六七八九十]|省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|栋|幢|单元|室|楼|层|组|院|苑|"
    r"小区|花园|大厦|广场|公寓|社区|屯|庄|里"
)
_CUE = re.compile(
    "(?:" + "|".join(sorted(CUES, key=len, reverse=True)) + ")(?:是|为|在|于)?[：: ]*"
    f"(?P<v>[^{_STOP}]{{2,{MAX_LENGTH}}})"
)


@register
class AddressCueRecognizer(ValidatedRecognizer):
    """What follows an address label, to the end of its clause."""

    ENTITY = "CN_ADDRESS"
    PATTERNS = (_CUE,)

    def adjust(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Stop the span before the next label (电话, 手机, 身份证…) and trailing spaces.

        Parameters
        ----------
        text
            The analysed text.
        start, end
            The raw match.

        Returns
        -------
        tuple[int, int]
            The span.

        """
        cut = end
        for label in _LABELS:
            position = text.find(label, start + 2, end)
            if position >= 0:
                cut = min(cut, position)
        while cut > start and text[cut - 1] in " \u3000":
            cut -= 1
        return start, cut

    def score(self, candidate: str) -> float | None:
        """Return 0.6 when the candidate shows an address, else ``None``.

        Parameters
        ----------
        candidate
            The text after the cue.

        Returns
        -------
        float | None
            The score.

        """
        if len(candidate) < 2 or candidate[0] in "不未没无":
            return None
        return 0.6 if _EVIDENCE.search(candidate) or matches(candidate) else None

    def explain(self, candidate: str) -> str:
        """Say that an address cue introduced the span.

        Parameters
        ----------
        candidate
            The accepted text (not shown).

        Returns
        -------
        str
            The reason.

        """
        return "text after an address cue (现住, 户籍地, 单位地址…)"
