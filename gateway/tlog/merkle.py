"""The RFC 9162 (RFC 6962) Merkle tree over SHA-256: hashing, proof plans, proof verification.

Notation follows RFC 9162 §2.1: ``MTH(D[n])`` is the root of the tree over the first ``n``
leaves, a leaf hashes as ``SHA-256(0x00 || d)`` and an interior node as
``SHA-256(0x01 || left || right)`` (§2.1.1), and the empty tree's root is ``SHA-256()``.

Stored trees keep the hash of every *perfect* subtree, named ``(level, index)``: the node at
level ``L`` and index ``i`` covers leaves ``[i·2^L, (i+1)·2^L)``. Any subtree the RFC's
recursion visits, ``D[start:end]``, is the right fold of at most ``log2(n)`` perfect nodes
(:func:`perfect_nodes`), so a proof over a million leaves needs about forty stored hashes.
Proof generation is split in two pure steps so a store can fetch every hash it needs in one
query: :func:`inclusion_ranges` / :func:`consistency_ranges` say *which* subtree roots a
proof holds, :func:`range_hash` folds the fetched perfect nodes into each of them.

Verification implements RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) in the
decomposed form of transparency-dev/merkle; it is tested against that project's published
vectors and a real Certificate Transparency log (tests/vectors/SOURCES.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from gateway.tlog.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Node",
    "RootBuilder",
    "consistency_ranges",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_nodes",
    "proof_hashes",
    "range_hash",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "root_of_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

Node = tuple[int, int]
"""A perfect subtree ``(level, index)`` covering leaves ``[index << level, (index + 1) << level)``."""

Range = tuple[int, int]
"""A half-open leaf range ``[start, end)`` whose Merkle tree hash a proof carries."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``k`` in RFC 9162 §2.1.1), ``size > 1``."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up ``D[start:end]``, left to right.

    For the ranges an RFC 9162 proof visits (``start`` aligned to a power of two at least
    ``end - start``) this is the RFC's own split; ``MTH(D[start:end])`` is their right fold.
    """
    nodes: list[Node] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """``MTH(D[start:end])`` from the hashes of its :func:`perfect_nodes` (``start < end``)."""
    hashes = [nodes[node] for node in perfect_nodes(start, end)]
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose roots form ``PATH(index, D[size])`` (RFC 9162 §2.1.3.1), in proof order.

    Raises
    ------
    ProofError
        When ``index`` is not below ``size``.

    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append((middle, end))
            end = middle
        else:
            path.append((start, middle))
            start = middle
    return path[::-1]


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The subtrees whose roots form ``PROOF(m, D[n])`` (RFC 9162 §2.1.4.1), in proof order.

    Raises
    ------
    ProofError
        When ``0 < old_size <= new_size`` does not hold.

    """
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof from size {old_size} to size {new_size}")
    tail: list[Range] = []
    start, end, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:end], whole), unrolled: each step appends the sibling subtree.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            tail.append((start + k, end))
            end = start + k
        else:
            tail.append((start, start + k))
            m -= k
            start += k
            whole = False
    head: list[Range] = [] if whole else [(start, end)]
    return head + tail[::-1]


class RootBuilder:
    """``MTH`` of a stream of leaf hashes, available after every leaf (a compact range).

    Keeps one hash per set bit of the size: verifying a log of a million entries from its
    records needs a few kilobytes, and the root at every checkpoint size on the way.
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []

    def push(self, value: bytes) -> None:
        """Append one leaf hash."""
        level, current = 0, value
        while self._stack and self._stack[-1][0] == level:
            current = node_hash(self._stack.pop()[1], current)
            level += 1
        self._stack.append((level, current))
        self.size += 1

    def root(self) -> bytes:
        """The root of the leaves pushed so far."""
        if not self._stack:
            return EMPTY_ROOT
        result = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            result = node_hash(left, result)
        return result


def root_of_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` over a list of leaf hashes, computed in memory."""
    builder = RootBuilder()
    for value in leaf_hashes:
        builder.push(value)
    return builder.root()


def _check_hash(value: bytes, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{name} is not a {HASH_SIZE}-byte hash")


def _inner_size(index: int, size: int) -> int:
    return (index ^ (size - 1)).bit_length()


def _chain_inner(seed: bytes, proof: Iterable[bytes], index: int) -> bytes:
    for i, value in enumerate(proof):
        seed = node_hash(seed, value) if (index >> i) & 1 == 0 else node_hash(value, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Iterable[bytes], index: int) -> bytes:
    for i, value in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(value, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Iterable[bytes]) -> bytes:
    for value in proof:
        seed = node_hash(value, seed)
    return seed


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2).

    Raises
    ------
    ProofError
        When the index is out of range, a hash is not 32 bytes or the proof has the wrong length.

    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    for value in proof:
        _check_hash(value, "proof hash")
    inner = _inner_size(index, size)
    border = bin(index >> inner).count("1")
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} hashes, expected {inner + border}")
    result = _chain_inner(leaf, proof[:inner], index)
    return _chain_border_right(result, proof[inner:])


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` sits at ``index`` of the tree of ``size`` leaves with ``root``.

    Raises
    ------
    ProofError
        When the proof does not lead to ``root``.

    """
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of size {size}")


def root_from_consistency_proof(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes
) -> bytes:
    """The new root implied by a consistency proof, after checking it against ``old_root``.

    RFC 9162 §2.1.4.2. A proof from the empty tree is meaningless and refused, as in
    transparency-dev/merkle: a witness that has seen nothing accepts any first checkpoint.

    Raises
    ------
    ProofError
        When the sizes are out of order, the proof has the wrong shape or does not
        reproduce ``old_root``.

    """
    if new_size < old_size:
        raise ProofError(f"new size {new_size} is smaller than old size {old_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        return old_root
    if not proof:
        raise ProofError("consistency proof is empty")
    for value in proof:
        _check_hash(value, "proof hash")
    _check_hash(old_root, "old root")
    inner = _inner_size(old_size - 1, new_size)
    border = bin((old_size - 1) >> inner).count("1")
    shift = (old_size & -old_size).bit_length() - 1
    inner -= shift
    # The proof starts with the root of the subtree of size 2^shift, unless that is old_size.
    if old_size == 1 << shift:
        seed, rest = old_root, list(proof)
    else:
        seed, rest = proof[0], list(proof[1:])
    if len(rest) != inner + border:
        raise ProofError(f"consistency proof has {len(proof)} hashes, expected a different count")
    mask = (old_size - 1) >> shift
    first = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if first != old_root:
        raise ProofError(f"consistency proof does not reproduce the root of size {old_size}")
    return _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` (``new_root``) extends the one of ``old_size``.

    Raises
    ------
    ProofError
        When the proof is malformed or either root does not match.

    """
    if root_from_consistency_proof(old_size, new_size, proof, old_root) != new_root:
        raise ProofError(f"consistency proof does not lead to the root of size {new_size}")


def fetch_ranges(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect node the given subtree roots are folded from (one query's worth)."""
    return {node for start, end in ranges for node in perfect_nodes(start, end)}


NodeFetcher = Callable[[Iterable[Node]], Mapping[Node, bytes]]
"""Returns the stored hash of each requested perfect node (a store's one-query lookup)."""


def proof_hashes(ranges: Sequence[Range], fetch: NodeFetcher) -> list[bytes]:
    """The hashes of ``ranges`` (from :func:`inclusion_ranges` or :func:`consistency_ranges`)."""
    nodes = fetch(fetch_ranges(ranges))
    return [range_hash(start, end, nodes) for start, end in ranges]
