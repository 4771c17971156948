"""Conduct screening: quality on the frozen half, spans, speakers, parties, call-level rules, storage."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from gateway.clock import LOCAL_ZONE, local_date, system_clock
from gateway.conduct.evaluation import evaluate, read_labelled
from gateway.conduct.node import screen_and_keep
from gateway.conduct.rules import ConductRuleSet
from gateway.conduct.screener import CallFacts, ConductScreener, Transcript, Utterance
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules
from gateway.store.database import open_store
from gateway.store.enums import ConductSource, ContactParty
from gateway.store.repositories.conduct import ConductRepository

DATA = Path(__file__).resolve().parents[2] / "data" / "conduct"
RULES = ConductRuleSet.from_directory(default_policies_dir())
CONTACT = ContactRules.from_directory(default_policies_dir())
SCREENER = ConductScreener(RULES, CONTACT)

# Measured once on the frozen half after the patterns were written against the development
# half only (docs/conduct.md); a change that lowers any of them fails here.
RECALL_FLOOR = {
    "threat": 0.60,
    "insult": 0.73,
    "false_legal": 0.70,
    "impersonation": 0.93,
    "third_party_disclosure": 1.0,
}
PRECISION_FLOOR = 0.94


def test_the_labelled_set_has_400_utterances_split_in_halves_as_its_generator_writes_them(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(DATA))
    try:
        import authored  # the generator next to the data
    finally:
        sys.path.remove(str(DATA))
    authored.build(tmp_path)
    dev, frozen = (read_labelled(DATA / f"{half}.jsonl") for half in ("dev", "frozen"))

    assert len(dev) + len(frozen) >= 400
    assert {u.id for u in dev}.isdisjoint({u.id for u in frozen})
    for half in ("dev", "frozen"):
        assert (tmp_path / f"{half}.jsonl").read_text() == (DATA / f"{half}.jsonl").read_text()
    hard_negatives = [
        u for u in frozen if not u.labels and any(w in u.text for w in ("法院", "起诉", "征信", "律师"))
    ]
    assert len(hard_negatives) >= 10


def test_precision_and_recall_per_rule_on_the_frozen_half() -> None:
    frozen = read_labelled(DATA / "frozen.jsonl")

    scores = evaluate(SCREENER, frozen, [rule.id for rule in RULES.rules])
    print({rule: (round(s.precision, 3), round(s.recall, 3)) for rule, s in scores.items()})

    for rule, score in scores.items():
        assert score.precision >= PRECISION_FLOOR, (rule, score.precision)
        assert score.recall >= RECALL_FLOOR[rule], (rule, score.recall)
    compliant = [u for u in frozen if not u.labels]
    assert [u.text for u in compliant if SCREENER.screen_text(u.text, party=u.party)] == []


def test_a_flag_names_its_rule_and_the_span_of_the_words() -> None:
    text = "王先生您好。我是区人民法院执行局的，你的案子在我这里。"

    [finding] = SCREENER.screen_text(text, party=ContactParty.DEBTOR)

    assert finding.rule == "impersonation"
    assert text[finding.start : finding.end] == finding.excerpt and "法院" in finding.excerpt


@pytest.mark.parametrize(
    ("text", "party", "rules"),
    [
        ("他欠了我们五千块，麻烦你转告。", ContactParty.THIRD_PARTY, {"third_party_disclosure"}),
        ("您这笔欠了五千块，今天能处理吗？", ContactParty.DEBTOR, set()),
        ("麻烦您转告他回个电话，谢谢。", ContactParty.THIRD_PARTY, set()),
        ("如果您仍未还款，我方将依法向人民法院提起诉讼。", ContactParty.DEBTOR, set()),
        ("请不要相信冒充法院、公安的电话。", ContactParty.DEBTOR, set()),
    ],
)
def test_parties_and_hard_negatives(text: str, party: ContactParty, rules: set[str]) -> None:
    assert {f.rule for f in SCREENER.screen_text(text, party=party)} == rules


def call(at: dt.datetime, *lines: tuple[str, str]) -> Transcript:
    return Transcript(
        "call-1",
        ConductSource.TRANSCRIPT,
        ContactParty.DEBTOR,
        tuple(Utterance(speaker, text) for speaker, text in lines),
        occurred_at=at,
    )


def local(hour: int, minute: int = 0) -> dt.datetime:
    day = local_date(system_clock()) + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_ZONE)


def test_only_the_collector_is_screened_and_calls_in_quiet_hours_or_over_the_cap_are_flagged() -> None:
    transcript = call(
        local(22, 30),
        ("debtor", "你们这些骗子，我要投诉你们！"),
        ("collector", "您好，提醒您还款。"),
        ("collector", "你这种老赖就是社会的垃圾。"),
    )

    late = SCREENER.screen(transcript, CallFacts(connected_calls_that_day=4))
    daytime = SCREENER.screen(call(local(10), ("collector", "您好，提醒您还款。")), CallFacts(3))

    assert [(f.rule, f.utterance_index) for f in late] == [
        ("insult", 2),
        ("quiet_hours_contact", -1),
        ("over_cap_contact", -1),
    ]
    assert daytime == []


def test_flags_are_kept_at_the_node_once_per_source(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        transcript = call(local(22, 30), ("collector", "我是派出所的王警官，现在通知你配合调查。"))
        first = screen_and_keep(store, SCREENER, CONTACT, transcript, now=system_clock())
        again = screen_and_keep(store, SCREENER, CONTACT, transcript, now=system_clock())
        kept = ConductRepository(store).flags()
    finally:
        store.close()

    assert {f.rule for f in first} == {"impersonation", "quiet_hours_contact"} == {f.rule for f in again}
    assert len(kept) == 2 and json.dumps([f.rule for f in kept])
