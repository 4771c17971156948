"""RFC 9380 expand_message_xmd(SHA-512) vectors, suite constants and DeriveKeyPair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import InvalidInputError
from gateway.tokens.oprf import suite

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load_xmd_vectors() -> tuple[bytes, list[tuple[bytes, int, bytes]]]:
    """Loader for tests/vectors/expand_message_xmd_sha512.json (RFC 9380 K.3 format)."""
    data: dict[str, Any] = json.loads((VECTORS / "expand_message_xmd_sha512.json").read_text("utf-8"))
    assert data["hash"] == "SHA512"
    cases = [
        (case["msg"].encode("ascii"), int(case["len_in_bytes"]), bytes.fromhex(case["uniform_bytes"]))
        for case in data["tests"]
    ]
    return data["DST"].encode("ascii"), cases


XMD_DST, XMD_CASES = load_xmd_vectors()


@pytest.mark.parametrize(
    ("msg", "length", "expected"), XMD_CASES, ids=[f"{m[:8].decode()}-{n}" for m, n, _ in XMD_CASES]
)
def test_expand_message_xmd_matches_rfc9380_k3(msg: bytes, length: int, expected: bytes) -> None:
    # Execute
    uniform = suite.expand_message_xmd(msg, XMD_DST, length)

    # Assert
    assert uniform == expected


def test_the_rfc_k3_file_holds_all_ten_vectors() -> None:
    assert len(XMD_CASES) == 10
    assert {n for _, n, _ in XMD_CASES} == {0x20, 0x80}


def test_hash_to_group_batch_uses_the_same_expansion_as_the_general_function() -> None:
    # Prepare
    messages = [b"", b"abc", b"x" * 300]

    # Execute
    batched = suite._uniform64_batch(messages, suite.HASH_TO_GROUP_DST)

    # Assert
    assert batched == [suite.expand_message_xmd(m, suite.HASH_TO_GROUP_DST, 64) for m in messages]


@pytest.mark.parametrize("length", [0, 255 * 64 + 1, 0x10000])
def test_expand_message_xmd_refuses_out_of_range_lengths(length: int) -> None:
    with pytest.raises(InvalidInputError, match="output bytes"):
        suite.expand_message_xmd(b"m", b"dst", length)


def test_expand_message_xmd_refuses_a_dst_longer_than_255_bytes() -> None:
    with pytest.raises(InvalidInputError, match="DST"):
        suite.expand_message_xmd(b"m", b"d" * 256, 32)


def test_context_string_and_dsts_follow_rfc9497() -> None:
    assert suite.CONTEXT_STRING == b"OPRFV1-\x00-ristretto255-SHA512"
    assert suite.HASH_TO_GROUP_DST == b"HashToGroup-OPRFV1-\x00-ristretto255-SHA512"
    assert suite.HASH_TO_SCALAR_DST == b"HashToScalar-OPRFV1-\x00-ristretto255-SHA512"
    assert suite.DERIVE_KEY_PAIR_DST == b"DeriveKeyPairOPRFV1-\x00-ristretto255-SHA512"


def test_derive_key_pair_matches_rfc9497_a11() -> None:
    # Prepare
    data = json.loads((VECTORS / "oprf_ristretto255_sha512.json").read_text("utf-8"))

    # Execute
    secret, public = suite.derive_key_pair(bytes.fromhex(data["Seed"]), bytes.fromhex(data["KeyInfo"]))

    # Assert
    assert secret.hex() == data["skSm"]
    assert len(public) == 32


@pytest.mark.parametrize("seed", [b"", b"\xa3" * 31, b"\xa3" * 33])
def test_derive_key_pair_refuses_a_seed_that_is_not_32_bytes(seed: bytes) -> None:
    with pytest.raises(InvalidInputError, match="32-byte seed"):
        suite.derive_key_pair(seed, b"info")


def test_derive_key_pair_refuses_info_longer_than_65535_bytes() -> None:
    with pytest.raises(InvalidInputError, match="info"):
        suite.derive_key_pair(b"\xa3" * 32, b"i" * 0x10000)


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        (bytes(32), False),
        ((1).to_bytes(32, "little"), True),
        ((suite.GROUP_ORDER - 1).to_bytes(32, "little"), True),
        (suite.GROUP_ORDER.to_bytes(32, "little"), False),
        (b"\xff" * 32, False),
        (b"\x01" * 31, False),
    ],
    ids=["zero", "one", "L-1", "L", "all-ones", "short"],
)
def test_scalar_range_check(scalar: bytes, expected: bool) -> None:
    assert suite.scalar_is_canonical_nonzero(scalar) is expected
