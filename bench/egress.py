"""Throughput and quality of the free-text redactor; prints markdown.

Run with ``python -m bench.egress``. Compares, in one run and on the same short
notes (the dev and held-out sentences, 20–140 characters):

* the full redactor (rules + LAC NER, batched ``redact_many``);
* the structured-only redactor (no NER);
* Presidio's default predefined recognizers with the same offline no-op engine
  (minus the spaCy recognizer, which needs a model, and the e-mail recognizer,
  which fetches a TLD list), plus the same anonymizer;
* a plain compiled-regex baseline (mobile, 18-digit ID, 16–19 digit card, e-mail).

Then the per-entity precision/recall table on the held-out set.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import write_section
from gateway.egress.evaluation import evaluate, load, markdown_table
from gateway.egress.redactor import Redactor

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


def main() -> None:
    """Print the throughput table and the held-out quality table."""
    heldout = load(DATA / "heldout.jsonl")
    texts = [e.text for e in load(DATA / "dev.jsonl") + heldout]
    full = Redactor()
    structured = Redactor.structured_only()
    rows = [
        ("credgate Redactor (rules + LAC NER), redact_many", _rate(full.redact_many, texts)),
        ("credgate Redactor, one redact() per note", _rate(lambda ts: [full.redact(t) for t in ts], texts)),
        ("credgate structured-only (no NER)", _rate(structured.redact_many, texts)),
        ("Presidio predefined recognizers, no-op engine", _rate(_presidio_default(), texts)),
        ("plain compiled regex", _rate(_regex, texts)),
    ]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mean = sum(len(t) for t in texts) / len(texts)
    baseline = rows[-1][1]
    lines = [
        f"### Redactor throughput ({len(texts)} notes, mean {mean:.0f} chars, {cpus} CPUs)\n",
        "| pipeline | notes/s | ratio to plain regex (baseline, same run) |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {rate:,.0f} | {rate / baseline:.4f} |" for name, rate in rows]
    lines += [
        f"\n### Held-out quality ({len(heldout)} sentences, generated; not real text)\n",
        markdown_table(evaluate(heldout, full.analyze_many)),
    ]
    body = "\n".join(lines)
    write_section("Egress guard", body)
    print(body)


if __name__ == "__main__":
    main()
