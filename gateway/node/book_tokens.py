"""Tokenising a member's whole book: every borrower gets its OPRF token under the live epochs.

During a key rotation's grace period (issue #17 item 9) two epochs are live: the one
serving checks now and the newest, which will serve after the grace period. A book is
tokenised under both, so checks keep matching before, during and after the switch.
"""

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
    """Tokenise every borrower lacking a token under the serving or the newest key epoch.

    Returns ``(newest epoch, tokens written)``. Safe to re-run: it only fills what is missing.
    """
    tokens = SubjectTokens(store)
    probe = tokens.untokenised(TokenType.RESIDENT_ID, -1, limit=1)
    if not probe:
        return tokens.latest_epoch(TokenType.RESIDENT_ID), 0
    # A one-borrower probe learns the serving and the newest epoch.
    serving, _ = tokeniser.tokenise(TokenType.RESIDENT_ID, [probe[0][1]])
    newest = max(serving, tokeniser.newest_epoch)
    written = 0
    for epoch in sorted({serving, newest}):
        while batch := tokens.untokenised(TokenType.RESIDENT_ID, epoch, limit=BATCH):
            answered, values = tokeniser.tokenise(
                TokenType.RESIDENT_ID, [resident_id for _, resident_id in batch], epoch=epoch
            )
            written += tokens.save(
                TokenType.RESIDENT_ID,
                answered,
                [(b, v) for (b, _), v in zip(batch, values, strict=True)],
                at=now,
            )
            if on_progress is not None:
                on_progress(len(batch))
    return newest, written
