"""Generate the labelled egress sentences (deterministic; run once, then frozen).

Usage::

    python tests/data/egress/generate.py

writes ``all.jsonl`` is *not* kept: the sentences are shuffled with a fixed seed
and cut in two halves, ``heldout.jsonl`` (frozen before any recognizer was run
on it; never used for tuning) and ``dev.jsonl`` (the only half used for tuning).
Each line is ``{"id": ..., "text": ..., "entities": [{"type", "start", "end"}]}``
with character offsets into ``text`` (end exclusive).

Every identifier is synthetic: resident IDs carry a valid GB 11643 check
character over a made-up sequence number, bank cards a valid Luhn digit over a
random account part, and names are random surname + given-name combinations.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 20240604
N_SENTENCES = 420
HERE = Path(__file__).parent

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫")
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红兰建国志文斌辉鹏宇浩然子轩欣怡梓涵雨晨俊峰海燕"
    "丹凤晓东春梅立新永红德胜家豪思远嘉怡佳琪振华庆丰淑珍雪琴宏伟学军成龙美玲婷婷亮晶金凤小龙大伟"
)
REGIONS = (
    "110105",
    "110108",
    "310115",
    "310104",
    "440106",
    "440305",
    "320102",
    "320583",
    "510107",
    "420111",
    "330106",
    "330782",
    "370202",
    "410105",
    "610113",
    "500103",
    "350203",
    "430104",
    "210102",
    "130102",
    "450103",
    "520102",
    "530102",
    "640104",
    "650102",
    "150102",
    "220102",
    "230102",
    "340104",
    "360102",
    "460105",
    "540102",
    "620102",
    "630102",
    "140105",
    "120101",
    "411323",
    "512501",
    "362426",
    "431121",
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "171",
    "173",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "195",
    "198",
    "199",
)
AREA_CODES = (
    "010",
    "021",
    "020",
    "022",
    "023",
    "024",
    "025",
    "027",
    "028",
    "029",
    "0755",
    "0571",
    "0512",
    "0731",
    "0591",
    "0532",
    "0898",
    "0371",
    "0551",
    "0851",
    "0871",
    "0931",
    "0769",
)
CARD_BINS = (
    ("622202", 19),
    ("621700", 19),
    ("622848", 19),
    ("622588", 16),
    ("621483", 16),
    ("623668", 19),
    ("436742", 16),
    ("456351", 16),
    ("518710", 16),
    ("520108", 16),
    ("622609", 16),
    ("625965", 16),
    ("603367", 19),
    ("621226", 19),
    ("531693", 16),
)
PROVINCE_PLATES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

ADDRESS_PARTS = (
    ("北京市", "朝阳区", ("建国路", "望京街", "酒仙桥路", "朝阳北路")),
    ("北京市", "海淀区", ("中关村大街", "学院路", "西三环北路")),
    ("上海市", "浦东新区", ("张杨路", "世纪大道", "金桥路")),
    ("上海市", "徐汇区", ("漕溪北路", "肇嘉浜路", "虹漕路")),
    ("广东省广州市", "天河区", ("天河北路", "体育西路", "中山大道西")),
    ("广东省深圳市", "南山区", ("科技园路", "南海大道", "桃园路")),
    ("广东省东莞市", "长安镇", ("乌沙兴发路", "振安中路")),
    ("江苏省南京市", "鼓楼区", ("中山北路", "湖南路", "汉中门大街")),
    ("江苏省苏州市", "吴中区", ("东吴北路", "宝带西路")),
    ("浙江省杭州市", "西湖区", ("文三路", "天目山路", "古墩路")),
    ("四川省成都市", "武侯区", ("人民南路四段", "科华北路", "武侯祠大街")),
    ("湖北省武汉市", "洪山区", ("珞喻路", "雄楚大道", "书城路")),
    ("湖南省长沙市", "岳麓区", ("麓山南路", "枫林三路")),
    ("河南省郑州市", "金水区", ("花园路", "农业路", "经三路")),
    ("山东省青岛市", "市南区", ("香港中路", "福州南路")),
    ("福建省厦门市", "思明区", ("湖滨南路", "厦禾路")),
    ("陕西省西安市", "雁塔区", ("小寨东路", "科技路", "长安南路")),
    ("重庆市", "渝中区", ("解放碑八一路", "民生路", "中山三路")),
    ("天津市", "南开区", ("鞍山西道", "卫津路")),
    ("安徽省合肥市", "蜀山区", ("长江西路", "黄山路")),
    ("辽宁省沈阳市", "和平区", ("南京南街", "太原北街")),
    ("云南省昆明市", "五华区", ("东风西路", "人民中路")),
)
VILLAGES = (
    ("河南省周口市", "淮阳区", "白楼镇", "李庄村"),
    ("四川省南充市", "仪陇县", "新政镇", "观音寺村"),
    ("湖南省邵阳市", "隆回县", "桃洪镇", "六都寨村"),
    ("安徽省阜阳市", "临泉县", "杨桥镇", "徐庄村"),
    ("江西省赣州市", "于都县", "贡江镇", "长征村"),
    ("甘肃省天水市", "秦安县", "兴国镇", "凤山村"),
)
COMPOUNDS = ("阳光花园", "锦绣家园", "幸福里小区", "翠湖苑", "金地名京", "万科城", "保利香槟国际", "和平里")
ORGS = (
    "某某科技有限公司",
    "华泰物流有限公司",
    "深圳市腾达电子厂",
    "杭州海纳网络科技有限公司",
    "中建三局第二分公司",
    "成都天府软件园某外包公司",
    "一家餐饮连锁店",
    "顺丰速运网点",
    "富士康龙华园区",
    "本地一家装修公司",
    "市第一人民医院",
    "某区教育局",
    "美团外卖站点",
    "京东物流仓库",
)
RELATIONS = ("配偶", "妻子", "丈夫", "父亲", "母亲", "哥哥", "姐姐", "同事", "朋友", "儿子", "女儿", "表弟")
AGENTS = ("催收员", "坐席", "专员", "客服", "外访员", "调解员")

FW = str.maketrans("0123456789", "０１２３４５６７８９")


def _luhn_check(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _id_check(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


class Gen:
    """Value makers; each returns the surface form of one entity."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def name(self) -> str:
        r = self.r
        surname = r.choice(COMPOUND_SURNAMES) if r.random() < 0.04 else r.choice(SURNAMES)
        n = 1 if r.random() < 0.45 else 2
        return surname + "".join(r.choice(GIVEN) for _ in range(n))

    def resident_id(self) -> str:
        r = self.r
        region = r.choice(REGIONS)
        if r.random() < 0.08:
            yy = r.randint(50, 84)
            born = f"{yy:02d}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
            return region + born + f"{r.randint(0, 999):03d}"
        born = f"{r.randint(1955, 2003)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
        for _ in range(50):
            first17 = region + born + f"{r.randint(0, 999):03d}"
            check = _id_check(first17)
            if r.random() < 0.2 and check != "X":
                continue
            break
        value = first17 + check
        style = r.random()
        if check == "X" and r.random() < 0.5:
            value = value[:-1] + "x"
        if style < 0.12:
            return value.translate(FW)
        if style < 0.24:
            return f"{value[:6]} {value[6:14]} {value[14:]}"
        if style < 0.30:
            return f"{value[:6]}-{value[6:14]}-{value[14:]}"
        return value

    def mobile(self) -> str:
        r = self.r
        number = r.choice(MOBILE_PREFIXES) + "".join(str(r.randint(0, 9)) for _ in range(8))
        style = r.randint(0, 9)
        forms = (
            number,
            number,
            number,
            f"{number[:3]}-{number[3:7]}-{number[7:]}",
            f"{number[:3]} {number[3:7]} {number[7:]}",
            f"+86 {number}",
            f"+86-{number[:3]}-{number[3:7]}-{number[7:]}",
            f"0086{number}",
            number.translate(FW),
            f"(+86){number}",
        )
        return forms[style]

    def landline(self) -> str:
        r = self.r
        area = r.choice(AREA_CODES)
        local_len = 8 if len(area) == 3 else r.choice((7, 8))
        local = str(r.randint(2, 8)) + "".join(str(r.randint(0, 9)) for _ in range(local_len - 1))
        style = r.randint(0, 4)
        if style == 0:
            return f"{area}-{local}"
        if style == 1:
            return f"({area}){local}"
        if style == 2:
            return f"{area} {local[:4]} {local[4:]}"
        if style == 3:
            return f"（{area}）{local}"
        return f"{area}{local}"

    def card(self) -> str:
        r = self.r
        bin_, length = r.choice(CARD_BINS)
        body = bin_ + "".join(str(r.randint(0, 9)) for _ in range(length - len(bin_) - 1))
        number = body + _luhn_check(body)
        style = r.random()
        if style < 0.3:
            return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        if style < 0.38:
            return number.translate(FW)
        if style < 0.45:
            return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
        return number

    def uscc(self) -> str:
        r = self.r
        body = r.choice("9159") + r.choice("123") + r.choice(REGIONS)
        body += "".join(r.choice(USCC_CHARS[:10] if i < 5 else USCC_CHARS) for i in range(9))
        total = sum(USCC_CHARS.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
        return body + USCC_CHARS[(31 - total % 31) % 31]

    def email(self) -> str:
        r = self.r
        local = r.choice(
            (
                "zhangwei",
                "lina_88",
                "wang.fang",
                "liuqiang1990",
                "chenjing",
                "yang.yang",
                "hx2021",
                "sunny_li",
                "tom.zhao",
                "xiaomei520",
                "jack_wu",
                "ming.he",
            )
        )
        local += str(r.randint(1, 999)) if r.random() < 0.5 else ""
        return (
            local
            + "@"
            + r.choice(
                (
                    "qq.com",
                    "163.com",
                    "126.com",
                    "sina.com",
                    "gmail.com",
                    "foxmail.com",
                    "hotmail.com",
                    "company.com.cn",
                    "sohu.com",
                )
            )
        )

    def plate(self) -> str:
        r = self.r
        head = r.choice(PROVINCE_PLATES) + r.choice(PLATE_LETTERS)
        if r.random() < 0.2:
            tail = r.choice("DF") + "".join(r.choice("0123456789") for _ in range(5))
        else:
            pool = "0123456789" * 3 + PLATE_LETTERS
            tail = "".join(r.choice(pool) for _ in range(5))
            if not any(c.isdigit() for c in tail):
                tail = tail[:4] + str(r.randint(0, 9))
        return head + ("·" if r.random() < 0.15 else "") + tail

    def address(self) -> str:
        r = self.r
        if r.random() < 0.2:
            prov, county, town, village = r.choice(VILLAGES)
            lead = prov if r.random() < 0.7 else prov[3:]
            return f"{lead}{county}{town}{village}{r.randint(1, 12)}组{r.randint(1, 80)}号"
        city, district, roads = r.choice(ADDRESS_PARTS)
        road = r.choice(roads)
        lead = city if r.random() < 0.75 else ""
        tail = f"{road}{r.randint(1, 999)}号"
        k = r.random()
        if k < 0.4:
            tail += f"{r.choice(COMPOUNDS)}{r.randint(1, 30)}栋{r.randint(1, 6)}单元"
            tail += f"{r.randint(1, 33)}0{r.randint(1, 6)}室"
        elif k < 0.6:
            tail += f"{r.randint(1, 20)}号楼{r.randint(1, 33)}0{r.randint(1, 4)}"
        elif k < 0.7:
            tail = f"{r.choice(COMPOUNDS)}{r.randint(1, 30)}号楼{r.randint(1, 6)}单元{r.randint(101, 2808)}室"
        return lead + district + tail

    # hard negatives (unlabelled)
    def order(self) -> str:
        r = self.r
        return "".join(str(r.randint(0, 9)) for _ in range(r.choice((16, 17, 18, 19, 20, 22))))

    def amount(self) -> str:
        r = self.r
        v = r.randint(300, 300000)
        return r.choice(
            (f"{v}元", f"{v:,}.{r.randint(0, 99):02d}元", f"人民币{v}元", f"¥{v:,}", f"{v / 10000:.2f}万元")
        )

    def date(self) -> str:
        r = self.r
        y, m, d = r.randint(2019, 2024), r.randint(1, 12), r.randint(1, 28)
        return r.choice(
            (f"{y}年{m}月{d}日", f"{y}-{m:02d}-{d:02d}", f"{m}月{d}号", f"{y}{m:02d}{d:02d}", f"{y}/{m}/{d}")
        )

    def contract(self) -> str:
        r = self.r
        return r.choice(
            (
                f"HT{r.randint(2019, 2024)}{r.randint(0, 99999999):08d}",
                f"XD-{r.randint(10**9, 10**10 - 1)}",
                f"（{r.randint(2019, 2024)}）京0105民初{r.randint(1000, 99999)}号",
                f"SF{r.randint(10**11, 10**12 - 1)}",
                f"JD{r.randint(10**12, 10**13 - 1)}",
            )
        )


LABELLED = {
    "NAME": "CN_PERSON",
    "NAME2": "CN_PERSON",
    "ID": "CN_RESIDENT_ID",
    "MOBILE": "CN_MOBILE",
    "MOBILE2": "CN_MOBILE",
    "LANDLINE": "CN_LANDLINE",
    "CARD": "BANK_CARD",
    "USCC": "CN_USCC",
    "EMAIL": "EMAIL",
    "PLATE": "CN_LICENSE_PLATE",
    "ADDR": "CN_ADDRESS",
}

# Fragments: collection notes, complaints, call transcripts, bureau summaries.
TEMPLATES = (
    "{DATE}致电债务人{NAME}，本人接听，承诺{DATE}前还款{AMOUNT}。",
    "借款人{NAME}（身份证号{ID}）逾期{N}天，欠款{AMOUNT}，联系电话{MOBILE}。",
    "客户{NAME}称已于{DATE}通过尾号{N4}的银行卡还款，要求核实。",
    "外访记录：前往{ADDR}，{NAME}不在家，邻居称其在{ORG}上班。",
    "{AGENT}：您好，请问是{NAME}先生吗？客户：对，我是。",
    "{AGENT}：{NAME}女士您好，这里是贷后管理中心，您的账单已逾期{N}天。",
    "投诉人{NAME}反映，催收人员多次拨打其{RELATION}{NAME2}的电话{MOBILE2}，严重影响生活。",
    "客户要求将还款卡变更为{CARD}，开户行为招商银行。",
    "银行卡号：{CARD}，户名{NAME}。",
    "请把款打到卡号{CARD}，别打之前那张了。",
    "债务人登记住址为{ADDR}，现居住地不详。",
    "紧急联系人{NAME2}（{RELATION}），手机{MOBILE2}，表示不清楚借款情况。",
    "单位电话{LANDLINE}，接电话的同事说{NAME}已离职。",
    "担保企业统一社会信用代码{USCC}，法定代表人{NAME}。",
    "{NAME}的邮箱是{EMAIL}，已发送还款提醒。",
    "车辆抵押，车牌号{PLATE}，车主{NAME}。",
    "订单号{ORDER}，金额{AMOUNT}，客户对扣款有异议。",
    "流水号{ORDER}的交易已在{DATE}退款，请勿重复投诉。",
    "合同编号{CONTRACT}，借款本金{AMOUNT}，年化利率{RATE}%。",
    "客户称{DATE}收到陌生号码{MOBILE}的威胁短信，要求平台处理。",
    "本人{NAME}，身份证{ID}，申请开具结清证明，邮寄到{ADDR}。",
    "{NAME}表示目前在{ORG}打工，月收入约{AMOUNT}，下月{N}号发工资后还款。",
    "{AGENT}{NAME2}与客户{NAME}沟通，客户情绪激动，挂断电话。",
    "来电号码{LANDLINE}，自称是客户的律师，要求停止催收。",
    "客户提供的旧身份证号为{ID}，与系统记录不一致。",
    "核实身份：姓名{NAME}，证件号码{ID}，预留手机{MOBILE}。",
    "案件已转交法务，案号{CONTRACT}，涉案金额{AMOUNT}。",
    "客户反映{DATE}被扣款{AMOUNT}，扣款账户{CARD}，并非本人操作。",
    "请联系{NAME}，电话{MOBILE}或者{LANDLINE}，工作日九点到六点。",
    "退款申请单号{ORDER}，预计{N}个工作日到账。",
    "客服热线95588，投诉电话400-820-{N4}，均已告知客户。",
    "{NAME}说他老婆{NAME2}不知道借钱的事，请不要打她电话。",
    "快递单号{CONTRACT}，催告函已寄至{ADDR}，签收人{NAME}。",
    "经查，{NAME}名下另有一辆{PLATE}的小轿车。",
    "{DATE}{TIME}，{NAME}主动来电，称近期失业，申请延期{N}个月。",
    "对方自称{NAME}的朋友，说{NAME2}已经出国，不会还钱。",
    "客户在{ORG}工作，公司地址{ADDR}，单位座机{LANDLINE}。",
    "身份证号码：{ID}；手机号码：{MOBILE}；现住址：{ADDR}。",
    "投诉内容：{ORG}的催收员冒充公检法，给我{RELATION}打电话，号码是{MOBILE}。",
    "逾期{N}天，最低还款额{AMOUNT}，已发送短信至{MOBILE}。",
    "回访时{NAME}确认收到减免方案，同意分{N}期还款。",
    "我叫{NAME}，我的卡{CARD}被冻结了，你们凭什么？",
    "企业客户信用代码：{USCC}，经营地址{ADDR}，联系人{NAME}。",
    "会员编号{ORDER}，积分{N4}分，与本次投诉无关。",
    "客户邮箱{EMAIL}退信，请核实后重发。",
    "系统显示该客户于{DATE}更换手机号为{MOBILE}。",
    "{NAME}、{NAME2}夫妻二人共同借款{AMOUNT}，约定{DATE}到期。",
    "坐席工号{N4}，通话时长{N}分钟，录音编号{ORDER}。",
    "借款人{NAME}名下账户{CARD}余额不足，代扣失败。",
    "{RELATION}{NAME2}代为还款{AMOUNT}，转账账户{CARD}。",
    "家访地址：{ADDR}，{NAME}的母亲在家，答应转告。",
    "本金{AMOUNT}，利息{AMOUNT}，罚息{AMOUNT}，合计应还{AMOUNT}。",
    "客户说：我身份证是{ID}，你们查一下是不是搞错人了。",
    "您好{NAME}，您尾号{N4}的账户本期应还{AMOUNT}，请于{DATE}前还款。",
    "监管转办件：投诉人{NAME}，联系方式{MOBILE}，诉求为停止暴力催收。",
)

TIMES = ("上午十点", "下午三点", "14:30", "9点20分", "晚上八点")


def build(gen: Gen, template: str) -> dict[str, object]:
    r = gen.r
    makers = {
        "NAME": gen.name,
        "NAME2": gen.name,
        "ID": gen.resident_id,
        "MOBILE": gen.mobile,
        "MOBILE2": gen.mobile,
        "LANDLINE": gen.landline,
        "CARD": gen.card,
        "USCC": gen.uscc,
        "EMAIL": gen.email,
        "PLATE": gen.plate,
        "ADDR": gen.address,
        "ORG": lambda: r.choice(ORGS),
        "ORDER": gen.order,
        "AMOUNT": gen.amount,
        "DATE": gen.date,
        "CONTRACT": gen.contract,
        "RATE": lambda: f"{r.uniform(7, 24):.1f}",
        "N": lambda: str(r.randint(1, 120)),
        "N4": lambda: f"{r.randint(0, 9999):04d}",
        "AGENT": lambda: r.choice(AGENTS),
        "RELATION": lambda: r.choice(RELATIONS),
        "TIME": lambda: r.choice(TIMES),
    }
    text = ""
    entities: list[dict[str, object]] = []
    chosen: dict[str, str] = {}
    pos = 0
    for match in re.finditer(r"\{([A-Z0-9]+)\}", template):
        text += template[pos : match.start()]
        slot = match.group(1)
        # A name slot keeps one value per sentence so "NAME" refers to one person.
        if slot in ("NAME", "NAME2") and slot in chosen:
            value = chosen[slot]
        else:
            value = makers[slot]()
            chosen[slot] = value
        if slot in LABELLED:
            entities.append({"type": LABELLED[slot], "start": len(text), "end": len(text) + len(value)})
        text += value
        pos = match.end()
    text += template[pos:]
    return {"text": text, "entities": entities}


def main() -> None:
    """Write ``heldout.jsonl`` and ``dev.jsonl`` next to this script."""
    rng = random.Random(SEED)
    gen = Gen(rng)
    rows = []
    for i in range(N_SENTENCES):
        first = TEMPLATES[i % len(TEMPLATES)]
        row = build(gen, first)
        # About a third of the notes get a second fragment, as real notes run on.
        if rng.random() < 0.35:
            extra = build(gen, rng.choice(TEMPLATES))
            shift = len(str(row["text"]))
            row["text"] = str(row["text"]) + str(extra["text"])
            ents = list(row["entities"]) if isinstance(row["entities"], list) else []
            for ent in extra["entities"] if isinstance(extra["entities"], list) else []:
                ents.append({"type": ent["type"], "start": ent["start"] + shift, "end": ent["end"] + shift})
            row["entities"] = ents
        rows.append(row)
    split = random.Random(SEED + 1)
    split.shuffle(rows)
    half = len(rows) // 2
    for name, part in (("heldout", rows[:half]), ("dev", rows[half:])):
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for i, row in enumerate(part):
                fh.write(json.dumps({"id": f"{name}-{i:03d}", **row}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
