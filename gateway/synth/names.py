"""Chinese personal names: weighted common surnames and 1–2 character given names.

Surname frequencies (per mille, rounded) follow the published national
surname rankings; ``data/surnames.csv`` holds the table. Given-name characters
are common ones, split into those used more for men and more for women.
"""

from __future__ import annotations

import csv
import itertools
import random
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gateway.errors import ConfigError

_MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林成建国峰亮志新海东文博晨昊"
_FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲燕红梅莉婷雪慧琳颖洁倩晶蕾欣怡佳琪悦璐萍琴雯月丹妍婧瑶薇"
_SHARED_CHARS = "一子晓小嘉思雨天安永春家文立世振德金玉光"
_SINGLE_CHAR_SHARE = 0.22


@dataclass(frozen=True, slots=True)
class SurnameTable:
    """Surnames and cumulative weights for fast weighted draws.

    Attributes
    ----------
    surnames
        Surnames in table order.
    cum_weights
        Running totals of their per-mille weights.

    """

    surnames: tuple[str, ...]
    cum_weights: tuple[int, ...]


@cache
def load_surnames() -> SurnameTable:
    """Return the embedded surname table.

    Returns
    -------
    SurnameTable
        Surnames with cumulative weights.

    Raises
    ------
    ConfigError
        When the packaged table is missing or malformed.

    """
    try:
        text = resources.files("gateway.synth").joinpath("data/surnames.csv").read_text(encoding="utf-8")
        pairs = [(row["surname"], int(row["per_mille"])) for row in csv.DictReader(text.splitlines())]
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError("packaged surname table gateway/synth/data/surnames.csv is unreadable") from exc
    if not pairs:
        raise ConfigError("packaged surname table is empty")
    return SurnameTable(
        surnames=tuple(name for name, _ in pairs),
        cum_weights=tuple(itertools.accumulate(weight for _, weight in pairs)),
    )


def random_name(rng: random.Random, *, male: bool) -> str:
    """Return a full name: a weighted surname and a one- or two-character given name.

    Parameters
    ----------
    rng
        The caller's generator.
    male
        Draw given-name characters from the male-leaning pool when true.

    Returns
    -------
    str
        For example ``王浩然`` or ``李娜``.

    """
    table = load_surnames()
    surname = rng.choices(table.surnames, cum_weights=table.cum_weights)[0]
    pool = (_MALE_CHARS if male else _FEMALE_CHARS) + _SHARED_CHARS
    if rng.random() < _SINGLE_CHAR_SHARE:
        return surname + rng.choice(_MALE_CHARS if male else _FEMALE_CHARS)
    return surname + rng.choice(pool) + rng.choice(pool)
