"""CN_PERSON by rule: a common surname plus one or two characters, next to a role or title word.

The rules find names that the model misses in formulaic notes (债务人张三,
王五先生); the character NER model (:mod:`gateway.egress.recognizers.char_ner`) carries
recall on free text.
"""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register
from gateway.egress.surnames import COMPOUND_SURNAMES, SURNAMES

_BEFORE = (
    "债务人",
    "借款人",
    "共同借款人",
    "担保人",
    "联系人",
    "投诉人",
    "申请人",
    "被申请人",
    "当事人",
    "户名",
    "车主",
    "签收人",
    "法定代表人",
    "法人",
    "姓名",
    "客户",
    "本人",
    "我叫",
    "我是",
    "配偶",
    "妻子",
    "丈夫",
    "老婆",
    "老公",
    "父亲",
    "母亲",
    "哥哥",
    "姐姐",
    "弟弟",
    "妹妹",
    "同事",
    "朋友",
    "儿子",
    "女儿",
    "表弟",
    "表哥",
    "催收员",
    "坐席",
    "专员",
    "客服",
    "外访员",
    "调解员",
    "请联系",
    "您好",
    "致电",
    "联系上",
    "找到",
    "告知",
)
_AFTER = ("先生", "女士", "小姐", "本人", "老师", "师傅", "经理", "同志", "夫妇", "阿姨", "大哥")
# A second given-name character that is far more often the next word (说, 的, 已…).
_STOP = set(
    "的了说称在于已不与和及表确主名代沟夫本同答承因去来要也都就把被向给对是为有没会从到等称让请"
    "之其并且但而或即将还欠借拒未再刚曾正又才仍均另该此那这个们"
)
# Words that often follow a name directly (刘芳电话, 张伟手机): a given name never takes their first
# character, so the placeholder stops where the name does.
_FOLLOW = (
    "电话", "手机", "号码", "微信", "邮箱", "身份", "证件", "住址", "地址", "家住", "现住", "住在", "户籍",
    "联系", "单位", "工作", "名下", "账户", "账号", "卡号", "银行", "欠款", "借款", "逾期", "还款", "已经",
    "表示", "称", "说", "今天", "昨天", "明天", "目前", "现在",
)  # fmt: skip
_CJK = "[\u4e00-\u9fff]"
_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])"
_GIVEN = f"{_CJK}(?:(?!{'|'.join(_FOLLOW)})(?![{''.join(sorted(_STOP))}]){_CJK})?"


@register
class PersonRuleRecognizer(ValidatedRecognizer):
    """Surname + given name, introduced by a role word or followed by a title."""

    ENTITY = "CN_PERSON"
    PATTERNS = (
        re.compile(f"(?P<v>{_SURNAME}{_CJK}{{1,2}}?)(?={'|'.join(_AFTER)})"),
        re.compile(f"(?:{'|'.join(_BEFORE)})[：:，, ]?(?:是|为|叫)?(?P<v>{_SURNAME}{_GIVEN})"),
    )

    def score(self, candidate: str) -> float | None:
        """Return 0.6 for a name-shaped candidate, ``None`` when it is a surname alone.

        Parameters
        ----------
        candidate
            The matched text (surname and one or two more characters).

        Returns
        -------
        float | None
            The score.

        """
        return 0.6 if len(candidate) >= 2 else None
