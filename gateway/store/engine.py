"""Engine construction: one code path for SQLite and PostgreSQL.

SQLite connections get WAL journaling (readers never block the writer),
enforced foreign keys and a busy timeout. Python's ``sqlite3`` module only
opens a transaction before the first write, so a read-then-write sequence is
not atomic; following the SQLAlchemy documentation ("Serializable isolation /
Savepoints / Transactional DDL" for pysqlite) we switch the driver's own
transaction handling off and emit ``BEGIN IMMEDIATE`` ourselves: taking the
write lock at the start makes concurrent writers wait (busy timeout) instead of
failing with "database is locked" when a read transaction later tries to write
after another writer committed (SQLite WAL: a stale snapshot cannot be upgraded).

Durability: ``synchronous=FULL``. In WAL mode ``NORMAL`` commits reach the WAL without
an fsync, which is durable only at the next checkpoint; while a node holds its store
open that can be minutes, and a power cut or a disk turned read-only lost imports,
inquiry records and round seeds that had been acknowledged (issue #17). With ``FULL``
every commit is fsynced before it returns, so what a command or a peer was told is
done is on disk. PostgreSQL's default (``synchronous_commit = on``) already does this.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError

from gateway.errors import StoreError

# A writer waits this long for another's lock before "database is locked". Commits are
# fsynced (see above); on a loaded two-core host a burst of audit appends, checkpoints and
# an import can hold the lock in turn for several seconds, and 5 s failed a bureau's
# subject check in CI. PostgreSQL waits on row locks without limit; 30 s stays well under
# every RPC deadline that matters while still surfacing a truly stuck writer.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_store_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """Create an engine for the store URL with the node's connection settings.

    Parameters
    ----------
    url
        ``sqlite:///path/store.db`` or ``postgresql+psycopg://user@host:port/db``.
    schema
        PostgreSQL only: schema put first on the ``search_path`` (tests use a
        throw-away schema per session).
    echo
        Log every SQL statement (debugging only: statements may carry PII).

    Returns
    -------
    sqlalchemy.engine.Engine
        A pooled engine; SQLite connections are already configured.

    Raises
    ------
    StoreError
        When the URL is malformed or names an unsupported backend.

    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL is not a valid SQLAlchemy URL (expected sqlite:/// or postgresql+psycopg://): {exc}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise StoreError("a schema can only be chosen on PostgreSQL")
        engine = sa.create_engine(parsed, echo=echo)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema is not None:
            connect_args["options"] = f"-csearch_path={schema}"
        return sa.create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    raise StoreError(f"unsupported store backend {backend!r}; expected sqlite or postgresql")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
