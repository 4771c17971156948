"""Invalid elements, scalars and batches are refused with a coarse, indexed error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.errors import InvalidInputError
from gateway.tokens.oprf import BlindBatch, OPRFKeyError, OPRFServerKey, blind, blind_evaluate, finalize
from gateway.tokens.oprf.suite import ELEMENT_REJECTED, GROUP_ORDER, IDENTITY

INVALID_FILE = Path(__file__).resolve().parents[2] / "vectors" / "ristretto255_invalid_encodings.json"


def load_invalid_encodings() -> list[tuple[str, bytes]]:
    """Loader for tests/vectors/ristretto255_invalid_encodings.json (RFC 9496 A.2 format)."""
    groups: dict[str, list[str]] = json.loads(INVALID_FILE.read_text("utf-8"))["groups"]
    return [
        (f"{group} #{i}", bytes.fromhex(item))
        for group, items in groups.items()
        for i, item in enumerate(items)
    ]


RFC9496_INVALID = load_invalid_encodings()
KEY = OPRFServerKey.generate(epoch=1)
VALID = blind([b"valid input"]).blinded_elements[0]


def with_high_bit(element: bytes) -> bytes:
    return element[:31] + bytes([element[31] | 0x80])


def test_the_rfc9496_file_holds_all_29_invalid_encodings() -> None:
    assert len(RFC9496_INVALID) == 29


@pytest.mark.parametrize(("name", "element"), RFC9496_INVALID, ids=[n for n, _ in RFC9496_INVALID])
def test_blind_evaluate_refuses_rfc9496_invalid_encodings(name: str, element: bytes) -> None:
    with pytest.raises(InvalidInputError) as caught:
        blind_evaluate(KEY, [VALID, element])

    assert caught.value.field == "blinded_elements[1]"
    assert caught.value.message.endswith(ELEMENT_REJECTED)


@pytest.mark.parametrize(
    "element",
    [
        IDENTITY,
        with_high_bit(VALID),  # bit 255 set: accepted by libsodium 1.0.18, refused by us
        with_high_bit(IDENTITY),  # zero with bit 255 set
        (2**255 - 19).to_bytes(32, "little"),  # p: a non-canonical encoding of zero
        (1).to_bytes(32, "little"),  # s = 1 is negative
        VALID[:31],
        VALID + b"\x00",
        b"",
    ],
    ids=["identity", "high-bit", "identity-high-bit", "p", "negative-s", "31-bytes", "33-bytes", "empty"],
)
def test_blind_evaluate_refuses_bad_elements_naming_the_index(element: bytes) -> None:
    # Prepare
    elements = [VALID, VALID, element, VALID]

    # Execute
    with pytest.raises(InvalidInputError, match=r"blinded_elements\[2\]") as caught:
        blind_evaluate(KEY, elements)

    # Assert: the same message whatever check failed (STYLE §4, coarse crypto errors).
    assert caught.value.field == "blinded_elements[2]"
    assert caught.value.message == f"blinded_elements[2]: {ELEMENT_REJECTED}"


def test_blind_evaluate_refuses_an_element_that_is_not_bytes() -> None:
    with pytest.raises(InvalidInputError, match=r"blinded_elements\[0\]"):
        blind_evaluate(KEY, [bytearray(VALID)])  # type: ignore[list-item]  # deliberately wrong type


def test_blind_evaluate_of_nothing_is_nothing() -> None:
    assert blind_evaluate(KEY, []) == []


@pytest.mark.parametrize(
    "element", [IDENTITY, with_high_bit(VALID), VALID[:16]], ids=["identity", "high-bit", "short"]
)
def test_finalize_refuses_bad_evaluated_elements(element: bytes) -> None:
    # Prepare
    batch = blind([b"a", b"b"])
    evaluated = blind_evaluate(KEY, batch.blinded_elements)
    evaluated[1] = element

    # Execute / Assert
    with pytest.raises(InvalidInputError, match=r"evaluated_elements\[1\]"):
        finalize([b"a", b"b"], batch.blinds, evaluated)


def test_finalize_refuses_sequences_of_different_lengths() -> None:
    batch = blind([b"a", b"b"])
    evaluated = blind_evaluate(KEY, batch.blinded_elements)

    with pytest.raises(InvalidInputError, match="expected 2 blinds and 2 evaluated elements, got 2 and 1"):
        finalize([b"a", b"b"], batch.blinds, evaluated[:1])


def test_finalize_refuses_a_zero_blind() -> None:
    batch = blind([b"a"])
    evaluated = blind_evaluate(KEY, batch.blinded_elements)

    with pytest.raises(InvalidInputError, match=r"blinds\[0\]"):
        finalize([b"a"], [bytes(32)], evaluated)


@pytest.mark.parametrize(
    "scalar",
    [bytes(32), GROUP_ORDER.to_bytes(32, "little"), b"\x01" * 31],
    ids=["zero", "order", "short"],
)
def test_blind_refuses_an_invalid_injected_scalar(scalar: bytes) -> None:
    with pytest.raises(InvalidInputError, match="random_scalar"):
        blind([b"a"], random_scalar=lambda: scalar)


def test_blind_refuses_an_input_longer_than_65535_bytes() -> None:
    with pytest.raises(InvalidInputError, match=r"inputs\[1\]"):
        blind([b"ok", b"x" * 0x10000])


def test_blind_accepts_the_longest_and_the_empty_input() -> None:
    batch = blind([b"", b"x" * 0xFFFF])
    assert len(batch.blinded_elements) == 2


@pytest.mark.parametrize(
    "scalar",
    [bytes(32), GROUP_ORDER.to_bytes(32, "little"), b"\xff" * 32, b"\x01" * 16],
    ids=["zero", "order", "too-large", "short"],
)
def test_a_server_key_refuses_an_invalid_scalar(scalar: bytes) -> None:
    with pytest.raises(OPRFKeyError, match="canonical non-zero"):
        OPRFServerKey(scalar, 1)


@pytest.mark.parametrize("epoch", [0, -1, True])
def test_a_server_key_refuses_an_invalid_epoch(epoch: int) -> None:
    with pytest.raises(OPRFKeyError, match="epoch"):
        OPRFServerKey((1).to_bytes(32, "little"), epoch)


def test_a_server_key_hides_its_scalar() -> None:
    key = OPRFServerKey.generate(epoch=3)

    assert key.scalar.hex() not in repr(key)
    assert "epoch=3" in repr(key)


def test_a_blind_batch_hides_its_blinds_and_checks_sizes() -> None:
    batch = blind([b"a"])
    assert batch.blinds[0].hex() not in repr(batch)

    with pytest.raises(InvalidInputError, match="as many blinds"):
        BlindBatch(blinds=batch.blinds, blinded_elements=())
    with pytest.raises(InvalidInputError, match=r"blinded_elements\[0\]"):
        BlindBatch(blinds=batch.blinds, blinded_elements=(b"short",))
