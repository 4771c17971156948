"""The character NER model: batch independence, spans, the gazetteer and surname flags it reads."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.egress.charner import TAGS, CharNER, HeadConfig, flags, personal_spans, tag_indices
from gateway.egress.gazetteer import matches, short_form
from gateway.egress.recognizers.char_ner import CharNERRecognizer


@pytest.fixture(scope="module")
def ner() -> CharNER:
    return CharNER()


def test_a_text_gets_the_same_probabilities_alone_and_in_a_padded_batch(ner: CharNER) -> None:
    texts = ["债务人张伟住在北京市朝阳区建国路88号。", "好", "瓦拉多利德主场迎战塞维利亚，" * 3, "王芳"]

    together = ner.probabilities_many(texts)

    for text, probs in zip(texts, together, strict=True):
        [alone] = ner.probabilities_many([text])
        assert probs.shape == (len(text), len(TAGS))
        np.testing.assert_allclose(probs, alone, atol=1e-5)


def test_long_texts_are_read_in_pieces_and_keep_their_length(ner: CharNER) -> None:
    text = "债务人张伟住在北京市朝阳区建国路88号，" * 30

    [probs] = ner.probabilities_many([text])

    assert probs.shape == (len(text), len(TAGS))


CASES: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "债务人张伟住在北京市朝阳区建国路88号。",
        [("CN_PERSON", "张伟"), ("CN_ADDRESS", "北京市朝阳区建国路88号")],
    ),
    (
        "浙商银行企业信贷部叶老桂博士认为，叶老桂的观点值得重视。",
        [("CN_PERSON", "叶老桂"), ("CN_PERSON", "叶老桂")],
    ),
    ("本轮西甲，瓦拉多利德主场迎战塞维利亚。", []),
    ("今天天气很好，适合出门散步。", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_the_recognizer_finds_names_and_addresses_exactly(text: str, expected: list[tuple[str, str]]) -> None:
    results = CharNERRecognizer().analyze(text, [])

    assert [(r.entity_type, text[r.start : r.end]) for r in results] == expected


def _probs(personal: list[float], kind: str = "name") -> np.ndarray:
    probs = np.zeros((len(personal), len(TAGS)), dtype=np.float32)
    probs[:, 0] = 1.0 - np.array(personal)
    probs[:, tag_indices(kind)[1]] = personal
    return probs


@pytest.mark.parametrize(
    ("personal", "spans"),
    [
        ([0.0, 0.9, 0.2, 0.0], [(1, 3)]),  # the core grows over a neighbour above the grow threshold
        ([0.0, 0.2, 0.2, 0.0], []),  # no character reaches the seed threshold
        ([0.9, 0.05, 0.9], [(0, 1), (2, 3)]),  # a gap below the grow threshold splits
    ],
)
def test_hysteresis_spans(personal: list[float], spans: list[tuple[int, int]]) -> None:
    found = personal_spans(_probs(personal), HeadConfig(seed_threshold=0.5, grow_threshold=0.1))

    assert [(start, end) for _, start, end, _ in found] == spans


def test_spans_do_not_start_or_end_on_punctuation() -> None:
    found = personal_spans(_probs([0.9, 0.9, 0.9], "address"), HeadConfig(0.5, 0.1), "北京。")

    assert [(kind, start, end) for kind, start, end, _ in found] == [("CN_ADDRESS", 0, 2)]


@pytest.mark.parametrize(
    ("official", "short"),
    [
        ("海淀区", "海淀"),
        ("恩施土家族苗族自治州", "恩施"),
        ("广西壮族自治区", "广西"),
        ("香港特别行政区", "香港"),
        ("赵县", None),
    ],
)
def test_division_short_forms(official: str, short: str | None) -> None:
    assert short_form(official) == short


def test_division_names_are_matched_longest_first() -> None:
    text = "家住北京市海淀区中关村"

    assert [text[s:e] for s, e in matches(text)] == ["北京市", "海淀区"]


def test_flags_mark_divisions_and_surnames() -> None:
    marks = flags("欧阳在北京")

    assert marks[:, 4].tolist() == [1, 1, 0, 0, 0]  # compound surname
    assert marks[:, 0].tolist() == [0, 0, 0, 1, 1]  # division name
    assert marks[3, 1] == 1 and marks[4, 2] == 1  # its first and last character
