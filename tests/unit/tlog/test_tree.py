"""The SQL-backed tree agrees with the in-memory RFC 9162 tree at every size, and its proofs verify."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.store.database import Store, open_store
from gateway.tlog.merkle import leaf_hash, root_of_leaves, verify_consistency, verify_inclusion
from gateway.tlog.tree import SqlTree


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    handle = open_store(f"sqlite:///{tmp_path / 'tree.db'}")
    yield handle
    handle.close()


def test_roots_and_proofs_at_every_size_up_to_33(store: Store) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(33)]
    tree = SqlTree("t")
    with store.transaction() as session:
        # Appended in uneven batches, as single appends and bulk loads mix in practice.
        position = 0
        for batch in (1, 2, 5, 1, 13, 11):
            tree.append(session, leaves[position : position + batch])
            position += batch
        assert tree.size(session) == 33
        for size in range(1, 34):
            root = tree.root(session, size)
            assert root == root_of_leaves(leaves[:size])
            for index in range(size):
                verify_inclusion(index, size, leaves[index], tree.inclusion_proof(session, index, size), root)
            for old in range(1, size + 1):
                proof = tree.consistency_proof(session, old, size)
                verify_consistency(old, size, root_of_leaves(leaves[:old]), root, proof)


def test_random_large_sizes_agree_with_the_in_memory_tree(store: Store) -> None:
    rng = random.Random(12)
    leaves = [leaf_hash(rng.randbytes(8)) for _ in range(3000)]
    tree = SqlTree("big")
    with store.transaction() as session:
        tree.append(session, leaves)
        for size in rng.sample(range(1, 3001), 20):
            root = tree.root(session, size)
            assert root == root_of_leaves(leaves[:size])
            index = rng.randrange(size)
            verify_inclusion(index, size, leaves[index], tree.inclusion_proof(session, index, size), root)


def test_two_logs_in_one_store_do_not_mix(store: Store) -> None:
    with store.transaction() as session:
        SqlTree("a").append(session, [leaf_hash(b"a")])
        SqlTree("b").append(session, [leaf_hash(b"b"), leaf_hash(b"c")])
        assert SqlTree("a").size(session) == 1
        assert SqlTree("a").root(session) == leaf_hash(b"a")
        assert SqlTree("b").size(session) == 2
