"""OPRF tokenisation throughput against raw libsodium scalar multiplication, same run.

Tokenising one element costs three variable-base scalar multiplications
(blind, evaluate, finalize) plus, in finalize, a share of one batched scalar
inversion. The baseline is ``crypto_scalarmult_ristretto255`` called through
``rbcl`` in a plain list comprehension, exactly as the OPRF code calls it; the
goal is that tokenisation runs at >= 80 % of that rate counted per scalar
multiplication. Each round measures the baseline and every step on the same
batch; the median over rounds is reported.

Run with ``python -m bench.oprf [--elements N] [--rounds R]``; prints markdown.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import rbcl  # type: ignore[import-untyped]  # rbcl 1.1.2 ships no py.typed marker

from bench.report import write_section
from gateway.tokens.oprf import OPRFServerKey, blind, blind_evaluate, finalize

GOAL = 0.80


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(elements: int, rounds: int) -> tuple[dict[str, float], list[float]]:
    """Return median seconds per element of the baseline and each step, and per-round ratios.

    The baseline is timed right before and right after the pipeline in every
    round and averaged, so slow drifts of a shared machine hit both alike.
    """
    key = OPRFServerKey.generate(epoch=1)
    inputs = [b"credgate/v1/resident_id/" + os.urandom(9).hex().upper().encode() for _ in range(elements)]
    points = [rbcl.crypto_core_ristretto255_random() for _ in range(elements)]
    scalars = [rbcl.crypto_core_ristretto255_scalar_random() for _ in range(elements)]
    smult = rbcl.crypto_scalarmult_ristretto255

    def baseline() -> float:
        return timed(lambda: [smult(s, p) for s, p in zip(scalars, points, strict=True)])

    samples: dict[str, list[float]] = {name: [] for name in ("raw", "blind", "evaluate", "finalize")}
    ratios: list[float] = []
    # One warm-up round, not recorded.
    for round_index in range(rounds + 1):
        raw_before = baseline()
        started = time.perf_counter()
        batch = blind(inputs)
        blinded_at = time.perf_counter()
        evaluated = blind_evaluate(key, batch.blinded_elements)
        evaluated_at = time.perf_counter()
        outputs = finalize(inputs, batch.blinds, evaluated)
        finished = time.perf_counter()
        raw = (raw_before + baseline()) / 2
        assert len(outputs) == elements
        if round_index == 0:
            continue
        samples["raw"].append(raw / elements)
        samples["blind"].append((blinded_at - started) / elements)
        samples["evaluate"].append((evaluated_at - blinded_at) / elements)
        samples["finalize"].append((finished - evaluated_at) / elements)
        ratios.append(3 * raw / (finished - started))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    medians["total"] = medians["blind"] + medians["evaluate"] + medians["finalize"]
    return medians, ratios


def report(elements: int, rounds: int) -> str:
    """Measure and format the markdown section."""
    seconds, ratios = measure(elements, rounds)
    raw = seconds["raw"]
    rows = [
        ("raw `crypto_scalarmult_ristretto255` (baseline)", seconds["raw"], "1"),
        ("`blind` (HashToGroup + 1 mult)", seconds["blind"], "1"),
        ("`blind_evaluate` (validation + 1 mult)", seconds["evaluate"], "1"),
        ("`finalize` (1 mult + batched inversion + SHA-512)", seconds["finalize"], "1 + 1/n inv"),
        ("**blind + evaluate + finalize**", seconds["total"], "3 + 1/n inv"),
    ]
    mults = {"1": 1, "1 + 1/n inv": 1, "3 + 1/n inv": 3}
    lines = [
        "| step | µs / element | elements / s | scalar mults / element | scalar mults / s | vs raw rate |",
        "|---|---|---|---|---|---|",
    ]
    for name, per_element, label in rows:
        per_mult = per_element / mults[label]
        lines.append(
            f"| {name} | {per_element * 1e6:.1f} | {1 / per_element:,.0f} | {label} | "
            f"{1 / per_mult:,.0f} | {raw / per_mult:.1%} |"
        )
    ratio = statistics.median(ratios)
    verdict = "meets" if ratio >= GOAL else "misses"
    return (
        f"{elements} elements per batch, median of {rounds} rounds after one warm-up, single thread. "
        "Every round times the raw baseline on the same number of random points just before and just "
        "after the pipeline. 'vs raw rate' is raw µs per mult divided by the step's µs per mult.\n\n"
        + "\n".join(lines)
        + f"\n\nTokenisation runs at **{ratio:.1%}** of the raw scalar-multiplication rate "
        f"(median of per-round ratios, range {min(ratios):.1%}–{max(ratios):.1%}; {verdict} the "
        f"{GOAL:.0%} goal): {1 / seconds['total']:,.0f} elements/s end to end, member and bureau work "
        "in one process.\n"
    )


def main() -> None:
    """Parse arguments, run the benchmark and print its markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=4096)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    body = report(arguments.elements, arguments.rounds)
    write_section("OPRF tokenisation", body)
    print(body)


if __name__ == "__main__":
    main()
