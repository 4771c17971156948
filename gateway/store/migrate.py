"""Run the store's Alembic migrations from code; no ``alembic.ini`` is needed.

The migration scripts ship inside the package (``gateway/store/migrations``).
Developers create a new revision with :func:`new_revision`, e.g.::

    python -c "from gateway.store.migrate import new_revision; new_revision('add x')"
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Alembic's migration context is process-global (``alembic.context``): two threads upgrading
# at once used each other's connection, and 79 of 160 concurrent opens failed (issue #17).
_UPGRADE_LOCK = threading.RLock()
# Any fixed number: the PostgreSQL advisory lock that serialises migrations across processes.
_PG_MIGRATION_LOCK = 0x63726564  # "cred"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic configuration pointing at the packaged migrations.

    Parameters
    ----------
    connection
        Connection the migrations run on; ``env.py`` picks it up from
        ``config.attributes["connection"]``.

    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def schema_at_head(connection: Connection) -> bool:
    """Whether the schema on ``connection`` is at the newest revision (a read, no lock)."""
    return current_revision(connection) == head_revision()


def upgrade_lock() -> threading.RLock:
    """The process-wide lock that serialises upgrades; re-entered by :func:`upgrade_to_head`.

    Take it *before* opening the transaction that upgrades: on SQLite that transaction holds
    the database's single write lock, and a thread that held it while waiting here would make
    every other opener of the same file wait out its busy timeout.
    """
    return _UPGRADE_LOCK


def upgrade_to_head(connection: Connection) -> None:
    """Upgrade the schema on ``connection`` to the newest revision.

    The caller owns the transaction; on PostgreSQL and SQLite all DDL is
    transactional, so a failed upgrade leaves the schema as it was. A schema already
    at head is left alone without running Alembic. Upgrades are serialised within the
    process (a lock: Alembic's context is global) and, on PostgreSQL, across processes
    (a transaction-scoped advisory lock); on SQLite the store's ``BEGIN IMMEDIATE``
    already holds the database's single write lock.
    """
    if schema_at_head(connection):
        return
    with _UPGRADE_LOCK:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if current_revision(connection) != head_revision():
            command.upgrade(alembic_config(connection), "head")


def downgrade_to(connection: Connection, revision: str) -> None:
    """Downgrade the schema on ``connection`` to ``revision`` (``"base"`` drops everything)."""
    command.downgrade(alembic_config(connection), revision)


def current_revision(connection: Connection) -> str | None:
    """Return the revision the schema is at, or ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


@cache
def head_revision() -> str | None:
    """Return the newest revision shipped with the package (read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def new_revision(message: str, *, url: str) -> None:
    """Autogenerate a new revision comparing ``url``'s schema with the ORM models.

    Parameters
    ----------
    message
        Short description, used in the file name and header docstring.
    url
        A store URL upgraded to head, against which the models are compared.

    """
    from gateway.store.engine import create_store_engine

    engine = create_store_engine(url)
    with engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
    engine.dispose()
