"""RFC 9497 Appendix A.1.1 vectors: ristretto255-SHA512, mode OPRF."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.tokens.oprf import OPRFServerKey, blind, blind_evaluate, finalize
from gateway.tokens.oprf.server import evaluate

VECTOR_FILE = Path(__file__).resolve().parents[2] / "vectors" / "oprf_ristretto255_sha512.json"


@dataclass(frozen=True)
class OPRFVector:
    name: str
    inputs: list[bytes]
    blinds: list[bytes]
    blinded_elements: list[bytes]
    evaluation_elements: list[bytes]
    outputs: list[bytes]


def load_oprf_vectors() -> tuple[dict[str, bytes], list[OPRFVector]]:
    """Loader for tests/vectors/oprf_ristretto255_sha512.json (RFC 9497 Appendix A format)."""
    data: dict[str, Any] = json.loads(VECTOR_FILE.read_text("utf-8"))
    assert data["suite"] == "ristretto255-SHA512"
    assert data["mode"] == 0
    keys = {name: bytes.fromhex(data[name]) for name in ("Seed", "KeyInfo", "skSm")}

    def column(vector: dict[str, Any], name: str) -> list[bytes]:
        values = [bytes.fromhex(item) for item in vector[name]]
        assert len(values) == vector["Batch"]
        return values

    vectors = [
        OPRFVector(
            name=vector["name"],
            inputs=column(vector, "Input"),
            blinds=column(vector, "Blind"),
            blinded_elements=column(vector, "BlindedElement"),
            evaluation_elements=column(vector, "EvaluationElement"),
            outputs=column(vector, "Output"),
        )
        for vector in data["vectors"]
    ]
    return keys, vectors


KEYS, VECTORS = load_oprf_vectors()
IDS = [vector.name for vector in VECTORS]


def scalars_from(values: list[bytes]) -> Callable[[], bytes]:
    supply: Iterator[bytes] = iter(values)
    return lambda: next(supply)


@pytest.fixture
def key() -> OPRFServerKey:
    return OPRFServerKey.derive(KEYS["Seed"], KEYS["KeyInfo"], epoch=1)


def test_the_derived_key_is_the_published_secret(key: OPRFServerKey) -> None:
    assert key.scalar == KEYS["skSm"]


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_blind_gives_the_blinded_element(vector: OPRFVector) -> None:
    # Execute
    batch = blind(vector.inputs, random_scalar=scalars_from(vector.blinds))

    # Assert
    assert list(batch.blinds) == vector.blinds
    assert list(batch.blinded_elements) == vector.blinded_elements


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_blind_evaluate_gives_the_evaluation_element(vector: OPRFVector, key: OPRFServerKey) -> None:
    # Execute
    evaluated = blind_evaluate(key, vector.blinded_elements)

    # Assert
    assert evaluated == vector.evaluation_elements


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_finalize_gives_the_output(vector: OPRFVector) -> None:
    # Execute
    outputs = finalize(vector.inputs, vector.blinds, vector.evaluation_elements)

    # Assert
    assert outputs == vector.outputs


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_server_side_evaluate_gives_the_output(vector: OPRFVector, key: OPRFServerKey) -> None:
    assert [evaluate(key, item) for item in vector.inputs] == vector.outputs


def test_all_vectors_in_one_batch_give_the_published_values(key: OPRFServerKey) -> None:
    # Prepare: A.1.1 has no batch vector for mode OPRF (only VOPRF/POPRF do), so
    # the two single vectors are run as one batch: in mode OPRF each element is
    # processed independently, so every published value must still come out.
    inputs = [item for vector in VECTORS for item in vector.inputs]
    blinds = [item for vector in VECTORS for item in vector.blinds]

    # Execute
    batch = blind(inputs, random_scalar=scalars_from(blinds))
    evaluated = blind_evaluate(key, batch.blinded_elements)
    outputs = finalize(inputs, batch.blinds, evaluated)

    # Assert
    assert list(batch.blinded_elements) == [e for v in VECTORS for e in v.blinded_elements]
    assert evaluated == [e for v in VECTORS for e in v.evaluation_elements]
    assert outputs == [o for v in VECTORS for o in v.outputs]
