"""The Merkle tree against published vectors: transparency-dev/merkle and a real CT log (Argon 2020)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.tlog.errors import ProofError
from gateway.tlog.merkle import (
    EMPTY_ROOT,
    Node,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    proof_hashes,
    root_of_leaves,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parents[2] / "vectors"
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


@dataclass(frozen=True)
class MerkleVectors:
    """tests/vectors/merkle_transparency_dev.json (one loader per format, STYLE §6)."""

    leaves: list[bytes]
    nodes: dict[Node, bytes]
    roots: list[bytes]
    inclusion: list[tuple[int, int, list[bytes]]]
    consistency: list[tuple[int, int, list[bytes]]]
    probes: list[dict[str, object]]

    @classmethod
    def load(cls) -> MerkleVectors:
        raw = json.loads((VECTORS / "merkle_transparency_dev.json").read_text())
        return cls(
            leaves=[bytes.fromhex(x) for x in raw["leaf_inputs"]],
            nodes={
                (level, i): bytes.fromhex(h)
                for level, row in enumerate(raw["node_hashes"])
                for i, h in enumerate(row)
            },
            roots=[bytes.fromhex(x) for x in raw["root_hashes"]],
            # Published leaf numbers are 1-based.
            inclusion=[
                (p["leaf"] - 1, p["size"], [bytes.fromhex(h) for h in p["proof"]])
                for p in raw["inclusion_proofs"]
            ],
            consistency=[
                (p["size1"], p["size2"], [bytes.fromhex(h) for h in p["proof"]])
                for p in raw["consistency_proofs"]
            ],
            probes=raw["published_probes"],
        )


V = MerkleVectors.load()


def stored(nodes: Mapping[Node, bytes]) -> object:
    def fetch(wanted: Iterable[Node]) -> Mapping[Node, bytes]:
        return {node: nodes[node] for node in wanted}

    return fetch


def test_leaf_and_node_hashes_match_the_published_tree() -> None:
    for index, data in enumerate(V.leaves):
        assert leaf_hash(data) == V.nodes[(0, index)]
    for (level, index), value in V.nodes.items():
        if level:
            assert node_hash(V.nodes[(level - 1, 2 * index)], V.nodes[(level - 1, 2 * index + 1)]) == value


@pytest.mark.parametrize("size", range(9))
def test_root_of_every_prefix_matches_the_published_root(size: int) -> None:
    assert root_of_leaves([leaf_hash(x) for x in V.leaves[:size]]) == V.roots[size]
    assert V.roots[0] == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "proof"), V.inclusion)
def test_generated_inclusion_proofs_equal_the_published_ones(
    index: int, size: int, proof: list[bytes]
) -> None:
    assert proof_hashes(inclusion_ranges(index, size), stored(V.nodes)) == proof  # type: ignore[arg-type]
    verify_inclusion(index, size, leaf_hash(V.leaves[index]), proof, V.roots[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), V.consistency)
def test_generated_consistency_proofs_equal_the_published_ones(
    size1: int, size2: int, proof: list[bytes]
) -> None:
    assert proof_hashes(consistency_ranges(size1, size2), stored(V.nodes)) == proof  # type: ignore[arg-type]
    verify_consistency(size1, size2, V.roots[size1], V.roots[size2], proof)


def _corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[object, ...]]:
    """The probes of transparency-dev/merkle cmd/proofgen ``invalidInclusionProof``."""
    probes: list[tuple[object, ...]] = [
        (index - 1, size, root, leaf, proof),
        (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof),
        (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof),
        (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof),
        (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, [*proof, b""]),
        (index, size, root, leaf, [*proof, root]),
        (index, size, root, leaf, [b"", *proof]),
        (index, size, root, leaf, [root, *proof]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        probes.append((index, size, root, leaf, flipped))
    if proof:
        probes.append((index, size, root, leaf, proof[:-1]))
    if len(proof) > 1:
        probes.append((index, size, root, leaf, [proof[0], SOME_HASH, *proof[1:]]))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), V.inclusion)
def test_every_corrupted_inclusion_probe_is_refused(index: int, size: int, proof: list[bytes]) -> None:
    for probe in _corrupt_inclusion(index, size, proof, V.roots[size], leaf_hash(V.leaves[index])):
        i, n, root, leaf, bad = probe
        with pytest.raises(ProofError):
            verify_inclusion(i, n, leaf, bad, root)  # type: ignore[arg-type]


@pytest.mark.parametrize(("size1", "size2", "proof"), [c for c in V.consistency if c[2]])
def test_every_corrupted_consistency_probe_is_refused(size1: int, size2: int, proof: list[bytes]) -> None:
    r1, r2 = V.roots[size1], V.roots[size2]
    # transparency-dev/merkle cmd/proofgen ``invalidConsistencyProof``.
    probes: list[tuple[int, int, bytes, bytes, list[bytes]]] = [
        (size1 - 1, size2, r1, r2, proof),
        (size1 + 1, size2, r1, r2, proof),
        (size1 ^ 2, size2, r1, r2, proof),
        (size1, size2 * 2, r1, r2, proof),
        (size1, size2 // 2, r1, r2, proof),
        (size1, size2, b"WrongRoot", r2, proof),
        (size1, size2, r1, b"WrongRoot", proof),
        (size1, size2, r2, r1, proof),
        (size1, size2, r1, r2, []),
        (size1, size2, r1, r2, [*proof, b""]),
        (size1, size2, r1, r2, [*proof, r1]),
        (size1, size2, r1, r2, [*proof, r2]),
        (size1, size2, r1, r2, [b"", *proof]),
        (size1, size2, r1, r2, [r1, *proof]),
        (size1, size2, r1, r2, [r2, *proof]),
        (size1, size2, r1, r2, [proof[0], *proof]),
        (size1, size2, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        probes.append((size1, size2, r1, r2, flipped))
    for a, b, root1, root2, bad in probes:
        with pytest.raises(ProofError):
            verify_consistency(a, b, root1, root2, bad)


def test_the_published_probe_file_verifies() -> None:
    for probe in V.probes:
        b64 = base64.b64decode
        verify_consistency(
            int(probe["size1"]),  # type: ignore[call-overload]
            int(probe["size2"]),  # type: ignore[call-overload]
            b64(str(probe["root1"])),
            b64(str(probe["root2"])),
            [b64(x) for x in probe["proof"]],  # type: ignore[attr-defined]
        )


def test_consistency_from_the_empty_tree_is_refused_and_equal_sizes_need_no_proof() -> None:
    with pytest.raises(ProofError):
        verify_consistency(0, 1, EMPTY_ROOT, V.roots[1], [])
    verify_consistency(3, 3, V.roots[3], V.roots[3], [])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, V.roots[3], V.roots[3], [EMPTY_ROOT])
    with pytest.raises(ProofError):
        verify_consistency(2, 1, V.roots[2], V.roots[1], [])


def test_a_real_certificate_transparency_log_verifies() -> None:
    """Google Argon 2020: leaf 10000 of a 961,984,013-leaf tree, and consistency from 3,654,490."""
    raw = json.loads((VECTORS / "ct_argon2020.json").read_text())
    b64 = base64.b64decode
    root = b64(raw["sha256_root_hash"])
    path = [b64(x) for x in raw["audit_path"]]
    leaf = leaf_hash(b64(raw["leaf_input"]))
    verify_inclusion(raw["leaf_index"], raw["tree_size"], leaf, path, root)
    old = b64(raw["consistency_first_root"])
    proof = [b64(x) for x in raw["consistency"]]
    verify_consistency(raw["consistency_first"], raw["tree_size"], old, root, proof)
    with pytest.raises(ProofError):
        verify_inclusion(raw["leaf_index"] + 1, raw["tree_size"], leaf, path, root)
    with pytest.raises(ProofError):
        verify_consistency(raw["consistency_first"] + 1, raw["tree_size"], old, root, proof)
