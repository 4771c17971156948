"""The :class:`Store` handle and its re-entrant transaction helper."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import StoreError
from gateway.store.engine import create_store_engine
from gateway.store.migrate import schema_at_head, upgrade_lock, upgrade_to_head

logger = logging.getLogger(__name__)
# Long enough for a queue of writers on a loaded 2-core host (the time-shifted CI pass under load
# once waited over 30 s during a members' ceremony); a stuck transaction still surfaces as an error.
WRITER_WAIT_SECONDS = 120.0


class Store:
    """Handle on the node's local database.

    Repositories take a ``Store`` and run their work inside
    :meth:`transaction`; callers group several repository calls into one
    transaction by opening an outer :meth:`transaction` themselves.

    Parameters
    ----------
    bind
        An engine (normal use) or a connection already inside a transaction
        (tests: each :meth:`transaction` then becomes a savepoint and the caller
        rolls the connection back).

    """

    def __init__(self, bind: Engine | Connection) -> None:
        self._bind = bind
        # On a caller's connection each transaction() is a savepoint the caller can roll back.
        self._sessions = sessionmaker(
            bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        # The open transaction of this thread or task: a session (transaction()) or, on hot paths,
        # a bare connection (connection()).
        self._current: ContextVar[Session | Connection | None] = ContextVar(
            f"credgate_store_{id(self)}", default=None
        )
        # SQLite: every transaction begins IMMEDIATE (engine.py), so transactions of one database
        # are serialised anyway. Waiting on a lock in this process, rather than in SQLite's busy
        # handler (which polls with growing sleeps and lets newcomers overtake), keeps a busy
        # node's threads from starving one another into "database is locked".
        self._writer = (
            threading.Lock() if isinstance(bind, Engine) and bind.dialect.name == "sqlite" else None
        )

    @property
    def dialect_name(self) -> str:
        """Return ``"sqlite"`` or ``"postgresql"``."""
        return self._bind.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Run a block in one database transaction and yield its session.

        The outermost block commits when it ends normally and rolls back when
        it raises. A nested block (in the same thread or task) reuses the outer
        session and neither commits nor rolls back: the outer block decides.

        Yields
        ------
        sqlalchemy.orm.Session
            The session of the current transaction.

        Raises
        ------
        StoreError
            When the database reports an error; the message carries the
            database's first line only, never bound parameters (they may be PII).

        """
        outer = self._current.get()
        if isinstance(outer, Session):
            yield outer
            return
        if outer is not None:
            yield from self._joined_session(outer)
            return
        with self._turn():
            session = self._sessions()
            token = self._current.set(session)
            try:
                with session.begin():
                    yield session
            except SQLAlchemyError as exc:
                raise StoreError(f"store operation failed: {describe_database_error(exc)}") from exc
            finally:
                self._current.reset(token)
                session.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Run prebuilt Core statements in one database transaction, without an ORM session.

        For hot paths that run a few statements per call (audit appends, a responder's round
        state): a session's begin, commit and close cost more than the statements. Nests like
        :meth:`transaction`: inside an open block it joins that block's transaction, and a
        :meth:`transaction` opened inside this block joins this one.

        Raises
        ------
        StoreError
            When the database reports an error (first line only, never bound parameters).

        """
        outer = self._current.get()
        if isinstance(outer, Session):
            yield outer.connection()
            return
        if outer is not None:
            yield outer
            return
        if not isinstance(self._bind, Engine):
            with self.transaction() as session:
                yield session.connection()
            return
        with self._turn():
            try:
                with self._bind.begin() as connection:
                    token = self._current.set(connection)
                    try:
                        yield connection
                    finally:
                        self._current.reset(token)
            except SQLAlchemyError as exc:
                raise StoreError(f"store operation failed: {describe_database_error(exc)}") from exc

    def _joined_session(self, connection: Connection) -> Iterator[Session]:
        """A session on the transaction of an enclosing :meth:`connection` block; the block commits."""
        session = self._sessions(bind=connection, join_transaction_mode="rollback_only")
        token = self._current.set(session)
        try:
            yield session
            session.flush()
        finally:
            self._current.reset(token)
            session.close()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Wait for this process's turn at an SQLite database (no wait on PostgreSQL).

        Raises
        ------
        StoreError
            When no turn came within ``WRITER_WAIT_SECONDS`` (a transaction held open that long
            is a fault, as SQLite's own busy timeout would have reported it).

        """
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=WRITER_WAIT_SECONDS):
            raise StoreError(f"store busy: no transaction turn within {WRITER_WAIT_SECONDS:.0f} s")
        try:
            yield
        finally:
            self._writer.release()

    def close(self) -> None:
        """Release pooled connections (engine-bound stores only)."""
        if isinstance(self._bind, Engine):
            self._bind.dispose()


def describe_database_error(exc: SQLAlchemyError) -> str:
    """Return the database's own message, first line only, without bound parameters.

    Parameters
    ----------
    exc
        An error raised by SQLAlchemy or by the DB-API driver under it.

    """
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else type(exc).__name__
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"{type(original or exc).__name__}: {first_line}"


def open_store(url: str, *, schema: str | None = None) -> Store:
    """Open the store at ``url`` and upgrade its schema to the newest revision.

    Parameters
    ----------
    url
        SQLAlchemy URL; the folder of a SQLite file is created when missing.
    schema
        PostgreSQL only: schema to work in (see :func:`create_store_engine`).

    Returns
    -------
    Store
        A store whose schema is at the head revision.

    Raises
    ------
    StoreError
        When the database cannot be reached or a migration fails.

    """
    _create_sqlite_folder(url)
    engine = create_store_engine(url, schema=schema)
    try:
        with engine.connect() as connection:
            at_head = schema_at_head(connection)
        if not at_head:
            with upgrade_lock(), engine.begin() as connection:
                upgrade_to_head(connection)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open or migrate the store: {describe_database_error(exc)}") from exc
    logger.debug("store ready on %s backend", engine.dialect.name)
    return Store(engine)


def _create_sqlite_folder(url: str) -> None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # create_store_engine reports the malformed URL.
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
