"""CN_PERSON by rule: a common surname plus one or two characters, next to a role or title word.

The rules find names that the model misses in formulaic notes (债务人张三,
王五先生); the LAC recognizer (:mod:`gateway.egress.recognizers.lac`) carries
recall on free text.
"""

from __future__ import annotations

import re

from gateway.egress.recognizers._base import ValidatedRecognizer
from gateway.egress.registry import register

# The most common single-character surnames (about 90% of the population) and compound surnames.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕"
    "单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚"
    "娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池"
    "查麻苑迟邝"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "宇文",
    "司徒",
    "令狐",
    "夏侯",
    "端木",
    "南宫",
)
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
_CJK = "[\u4e00-\u9fff]"
_SURNAME = "(?:" + "|".join(COMPOUND_SURNAMES) + f"|[{SURNAMES}])"
_GIVEN = f"{_CJK}(?:(?![{''.join(sorted(_STOP))}]){_CJK})?"


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
