"""Signing checkpoints of one of this node's own logs, each with a proof from the previous one."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from gateway.crypto.ed25519 import Ed25519Key
from gateway.store.database import Store
from gateway.tlog.checkpoints import CheckpointStore, Publication
from gateway.tlog.note import Checkpoint, NoteSigner, sign_checkpoint
from gateway.tlog.tree import SqlTree

__all__ = ["LogPublisher"]


class LogPublisher:
    """Signs checkpoints of the log ``tree`` under ``origin`` and keeps them in ``checkpoints``.

    Parameters
    ----------
    store
        The node's store, holding the tree.
    tree
        The log's tree (``audit`` or ``keys``).
    origin
        The log's origin, also its key name.
    key
        The node's Ed25519 log key.
    checkpoints
        Where the node keeps its publications.
    prepare
        Run first in the signing transaction (the audit log builds its tree there).

    """

    def __init__(
        self,
        store: Store,
        tree: SqlTree,
        *,
        origin: str,
        key: Ed25519Key,
        checkpoints: CheckpointStore,
        prepare: Callable[[Session], object] | None = None,
    ) -> None:
        self._prepare = prepare
        self._store = store
        self._tree = tree
        self._origin = origin
        self._signer = NoteSigner(origin, key)
        self._key = key
        self._checkpoints = checkpoints

    @property
    def origin(self) -> str:
        """The log's origin."""
        return self._origin

    def publish(self) -> Publication | None:
        """Sign a checkpoint of the tree as it is now; ``None`` when nothing changed (or empty)."""
        last = self._checkpoints.latest(self._origin)
        with self._store.transaction() as session:
            if self._prepare is not None:
                self._prepare(session)  # the audit log's tree is built here, off the request path
            size = self._tree.size(session)
            if size == 0 or (last is not None and last.checkpoint.size >= size):
                return None
            root = self._tree.root(session, size)
            old = 0 if last is None else last.checkpoint.size
            proof = tuple(self._tree.consistency_proof(session, old, size)) if old else ()
        note = sign_checkpoint(Checkpoint(self._origin, size, root), self._signer)
        publication = Publication.signed(note, old, proof, self._key)
        return self._checkpoints.add(publication)
