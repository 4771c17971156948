"""Throughput and quality of the free-text redactor; prints markdown.

Run with ``python -m bench.egress``. Compares, in one run and on the same short
notes (the dev and held-out sentences, 20–140 characters):

* the full redactor (rules + LAC NER, batched ``redact_many``);
* the structured-only redactor (no NER);
* Presidio's default predefined recognizers with the same offline no-op engine
  (minus the spaCy recognizer, which needs a model, and the e-mail recognizer,
  which fetches a TLD list), plus the same anonymizer;
* a plain compiled-regex baseline (mobile, 18-digit ID, 16–19 digit card, e-mail).

Then the quality tables: the real-text table on the 1,500 held-aside CLUENER2020 sentences
(names and addresses hidden whole, other types kept whole, over-redaction), near-miss
identifiers appended to real sentences, and the per-entity precision/recall table on the
generated held-out set.
"""

from __future__ import annotations

import os
import random
import re
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import write_section
from gateway.egress import corpus
from gateway.egress.checksums import USCC_ALPHABET, luhn_valid, uscc_check_char
from gateway.egress.evaluation import evaluate, hiding, hiding_table, load, markdown_table
from gateway.egress.ner import LacTagger
from gateway.egress.redactor import Redactor
from gateway.identifiers import resident_id_check_char

DATA = Path(__file__).parents[1] / "tests" / "data" / "egress"
ROUNDS = 5


def _rate(fn: Callable[[Sequence[str]], object], texts: Sequence[str]) -> float:
    fn(texts[:32])  # warm-up (loads the model, compiles patterns)
    start = time.perf_counter()
    for _ in range(ROUNDS):
        fn(texts)
    return ROUNDS * len(texts) / (time.perf_counter() - start)


def _presidio_default() -> Callable[[Sequence[str]], object]:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    registry = RecognizerRegistry(supported_languages=["en"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry.load_predefined_recognizers(languages=["en"])
    for name in ("SpacyRecognizer", "EmailRecognizer"):
        registry.remove_recognizer(name)
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}]),
        supported_languages=["en"],
    )
    anonymizer = AnonymizerEngine()

    def run(texts: Sequence[str]) -> object:
        return [
            anonymizer.anonymize(text=t, analyzer_results=analyzer.analyze(t, language="en")).text
            for t in texts
        ]

    return run


_BASELINE = [
    (re.compile(r"\d{17}[\dXx]"), "<CN_RESIDENT_ID>"),
    (re.compile(r"\d{16,19}"), "<BANK_CARD>"),
    (re.compile(r"(?:\+86)?1[3-9]\d{9}"), "<CN_MOBILE>"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<EMAIL>"),
]


def _regex(texts: Sequence[str]) -> object:
    out = []
    for text in texts:
        for pattern, placeholder in _BASELINE:
            text = pattern.sub(placeholder, text)
        out.append(text)
    return out


def _near_misses(count: int, seed: int = 15) -> list[tuple[str, str]]:
    """Return (clause, value) pairs: identifiers one check away from valid, in the ways people write them."""
    rng = random.Random(seed)
    out = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            first17 = f"{rng.choice(['110105', '440305', '510107', '330106'])}19{rng.randint(50, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
            good = resident_id_check_char(first17)
            value = first17 + rng.choice([c for c in "0123456789X" if c != good])
            out.append((f"，身份证号{value}", value))
        elif kind == 1:
            body = "62" + "".join(rng.choice("0123456789") for _ in range(16))
            value = next(body + d for d in "0123456789" if not luhn_valid(body + d))
            out.append((f"，还款卡号{value}", value))
        elif kind == 2:
            first17 = (
                rng.choice("9151")
                + rng.choice("123")
                + "".join(rng.choice("0123456789") for _ in range(6))
                + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
            )
            good = uscc_check_char(first17)
            value = first17 + rng.choice([c for c in USCC_ALPHABET if c != good])
            out.append((f"，信用代码{value}", value))
        else:
            digits = f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}"
            sep = rng.choice([".", "/", "  ", " - "])
            value = sep.join([digits[:3], digits[3:7], digits[7:]])
            out.append((f"，手机{value}", value))
    return out


def _near_miss_table(redactor: Redactor, sentences: Sequence[corpus.Sentence]) -> str:
    cases = _near_misses(len(sentences))
    texts = [s.text + clause for s, (clause, _) in zip(sentences, cases, strict=True)]
    hidden = {"resident ID": [0, 0], "bank card": [0, 0], "credit code": [0, 0], "mobile": [0, 0]}
    names = list(hidden)
    for index, (text, findings) in enumerate(zip(texts, redactor.analyze_many(texts), strict=True)):
        value = cases[index][1]
        start = text.rindex(value)
        masked = {i for f in findings for i in range(f.start, f.end)}
        counts = hidden[names[index % 4]]
        counts[0] += 1
        counts[1] += set(range(start, start + len(value))) <= masked
    lines = ["| near-miss identifier (appended to a real sentence) | cases | hidden whole |", "|---|---|---|"]
    lines += [f"| {name} | {n} | {k / n:.3f} |" for name, (n, k) in hidden.items()]
    return "\n".join(lines)


def main() -> None:
    """Print the throughput table and the held-out quality table."""
    heldout = load(DATA / "heldout.jsonl")
    aside = corpus.held_aside()
    texts = [e.text for e in load(DATA / "dev.jsonl") + heldout]
    full = Redactor()
    structured = Redactor.structured_only()
    rows = [
        ("credgate Redactor (rules + character NER), redact_many", _rate(full.redact_many, texts)),
        ("credgate Redactor, one redact() per note", _rate(lambda ts: [full.redact(t) for t in ts], texts)),
        ("credgate structured-only (no NER)", _rate(structured.redact_many, texts)),
        ("Baidu LAC tags alone (the NER cost before issue #15)", _rate(LacTagger().tag_many, texts)),
        ("Presidio predefined recognizers, no-op engine", _rate(_presidio_default(), texts)),
        ("plain compiled regex", _rate(_regex, texts)),
    ]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mean = sum(len(t) for t in texts) / len(texts)
    baseline = rows[-1][1]
    load_average = os.getloadavg()[0]
    lines = [
        f"### Redactor throughput ({len(texts)} notes, mean {mean:.0f} chars, {cpus} CPUs, load average {load_average:.1f})\n",
        "| pipeline | notes/s | ratio to plain regex (baseline, same run) |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {rate:,.0f} | {rate / baseline:.4f} |" for name, rate in rows]
    lines += [
        f"\n### Real text: CLUENER2020 held-aside part ({len(aside):,} sentences, never trained or tuned on)\n",
        "A name or address counts as hidden when none of its characters survives; any other span "
        "counts as kept when all of its characters survive.\n",
        hiding_table(hiding(aside, full.analyze_many)),
        "\n### Near-miss identifiers (fail closed)\n",
        _near_miss_table(full, aside[:400]),
        f"\n### Held-out quality ({len(heldout)} sentences, generated; not real text)\n",
        markdown_table(evaluate(heldout, full.analyze_many)),
    ]
    body = "\n".join(lines)
    write_section("Egress guard", body)
    print(body)


if __name__ == "__main__":
    main()
