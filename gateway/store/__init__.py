"""The node's local store: SQLite by default, PostgreSQL by URL, one code path.

``open_store(url)`` creates the engine, upgrades the schema to the newest
Alembic revision and returns a :class:`Store`; repositories in
:mod:`gateway.store.repositories` do the reading and writing inside
``store.transaction()``.
"""

from gateway.store.database import Store, open_store
from gateway.store.engine import create_store_engine

__all__ = ["Store", "create_store_engine", "open_store"]
