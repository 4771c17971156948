"""Tokenising a member's whole book: every borrower gets its OPRF token under the current epoch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from gateway.node.tokeniser import RemoteTokeniser
from gateway.store.database import Store
from gateway.store.enums import TokenType
from gateway.store.repositories.tokens import SubjectTokens

BATCH = 5000


def tokenise_book(
    store: Store,
    tokeniser: RemoteTokeniser,
    *,
    now: dt.datetime,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Tokenise every borrower lacking a token under the bureau's current key epoch.

    Returns ``(epoch, tokens written)``. Safe to re-run: it only fills what is missing.
    """
    tokens = SubjectTokens(store)
    epoch, written = tokens.latest_epoch(TokenType.RESIDENT_ID), 0
    while True:
        # Until the epoch is known, a one-borrower probe learns it cheaply.
        batch = tokens.untokenised(TokenType.RESIDENT_ID, epoch, limit=BATCH if epoch else 1)
        if not batch:
            return epoch, written
        answered, values = tokeniser.tokenise(
            TokenType.RESIDENT_ID, [resident_id for _, resident_id in batch]
        )
        if answered != epoch:
            epoch = answered  # first call, or the bureau rotated its key: count again under this epoch
            continue
        written += tokens.save(
            TokenType.RESIDENT_ID, epoch, [(b, v) for (b, _), v in zip(batch, values, strict=True)], at=now
        )
        if on_progress is not None:
            on_progress(len(batch))
