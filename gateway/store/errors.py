"""Errors specific to the local store."""

from __future__ import annotations

from gateway.errors import StoreError


class AuditChainError(StoreError):
    """The audit log's hash chain is broken: an entry was altered, removed or reordered.

    ``seq`` names the first entry whose link does not verify.
    """

    reason = "audit_chain_broken"

    def __init__(self, message: str, *, seq: int) -> None:
        super().__init__(message)
        self.seq = seq
