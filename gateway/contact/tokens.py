"""Resident-ID tokens of a member's own debtors, tokenising on demand those the store lacks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from gateway.errors import StoreError
from gateway.store.database import Store
from gateway.store.enums import TokenType
from gateway.store.repositories.contact_member import borrower_resident_ids, resident_tokens
from gateway.store.repositories.tokens import SubjectTokens

__all__ = ["Tokeniser", "debtor_tokens"]


class Tokeniser(Protocol):
    """Blind OPRF through the bureau (``gateway.node.tokeniser.RemoteTokeniser``)."""

    def tokenise(self, token_type: TokenType, values: Sequence[str]) -> tuple[int, list[bytes]]:
        """Tokens of ``values`` and their key epoch."""


def debtor_tokens(
    store: Store, tokeniser: Tokeniser, borrower_ids: Sequence[int], *, now: dt.datetime
) -> tuple[int, dict[int, bytes]]:
    """``(OPRF epoch, borrower_id → token)``; the resident IDs are blinded here and never sent.

    Raises
    ------
    GatewayError
        When the bureau cannot tokenise what the store lacks.

    """
    wanted = sorted(set(borrower_ids))
    tokens = SubjectTokens(store)
    epoch = tokens.latest_epoch(TokenType.RESIDENT_ID)
    if not wanted:
        return epoch, {}
    found = resident_tokens(store, epoch, wanted) if epoch else {}
    missing = [b for b in wanted if b not in found]
    if missing:
        ids = borrower_resident_ids(store, missing)
        epoch, values = tokeniser.tokenise(TokenType.RESIDENT_ID, [ids[b] for b in missing])
        try:
            tokens.save(TokenType.RESIDENT_ID, epoch, zip(missing, values, strict=True), at=now)
        except StoreError:
            # Another dialer process tokenised the same debtors meanwhile: its tokens are ours.
            if set(resident_tokens(store, epoch, missing)) != set(missing):
                raise
        found = resident_tokens(store, epoch, wanted)
    return epoch, found
