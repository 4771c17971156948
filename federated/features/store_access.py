"""Opening a member's store from federated code (serialised: migrations are not thread-safe)."""

from __future__ import annotations

import threading

from gateway.store.database import Store, open_store

__all__ = ["open_member_store"]

# Opening a store runs its Alembic migrations, which are not thread-safe; in-process
# runs open several members' stores from parallel threads.
_OPEN_LOCK = threading.Lock()


def open_member_store(url: str) -> Store:
    """Open a member's store (serialised across threads; see ``_OPEN_LOCK``)."""
    with _OPEN_LOCK:
        return open_store(url)
