"""Conduct screening: precision and recall per rule on both halves, and utterances per second.

Run with ``python -m bench.conduct`` (``make bench``). The detectors were written against the
development half only; the frozen half is the measurement (docs/conduct.md).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.report import write_section
from gateway.conduct.evaluation import evaluate, read_labelled
from gateway.conduct.rules import ConductRuleSet
from gateway.conduct.screener import ConductScreener
from gateway.config import default_policies_dir
from gateway.policy.contact_rules import ContactRules

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "conduct"
ROUNDS = 50


def main() -> None:
    rules = ConductRuleSet.from_directory(default_policies_dir())
    screener = ConductScreener(rules, ContactRules.from_directory(default_policies_dir()))
    halves = {half: read_labelled(DATA / f"{half}.jsonl") for half in ("dev", "frozen")}
    scores = {half: evaluate(screener, data, [r.id for r in rules.rules]) for half, data in halves.items()}
    rows = []
    for rule in rules.rules:
        dev, frozen = scores["dev"][rule.id], scores["frozen"][rule.id]
        support = frozen.true_positives + frozen.false_negatives
        rows.append(
            f"| {rule.id} | {dev.precision:.2f} / {dev.recall:.2f} | {frozen.precision:.2f} / {frozen.recall:.2f} "
            f"| {support} |"
        )
    compliant = [u for u in halves["frozen"] if not u.labels]
    false_alarms = sum(1 for u in compliant if screener.screen_text(u.text, party=u.party))
    texts = [(u.text, u.party) for data in halves.values() for u in data]
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for text, party in texts:
            screener.screen_text(text, party=party)
    rate = ROUNDS * len(texts) / (time.perf_counter() - started)
    body = f"""
{len(halves["dev"])} development and {len(halves["frozen"])} frozen utterances (tests/data/conduct/),
patterns from policies/conduct.toml:

| rule | dev precision / recall | frozen precision / recall | frozen breaches |
|---|---|---|---|
{chr(10).join(rows)}

Frozen compliant utterances (hard negatives included) flagged by any rule: {false_alarms} of {len(compliant)}.
Throughput: {rate:,.0f} utterances/s on one core (every rule, regular expressions).
"""
    write_section("Conduct screening", body)
    print(body)


if __name__ == "__main__":
    main()
