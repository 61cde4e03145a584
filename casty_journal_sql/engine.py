"""Database URLs and SQLAlchemy async engines for the SQL journal.

One code path serves both supported backends:

``sqlite+aiosqlite:///path/to/journal.db``
    the embedded default. Every connection is set up with

    * ``journal_mode=WAL``: readers never block the writer and vice versa, and
      several processes on one host can share the file;
    * ``synchronous=FULL``: a transaction is on disk before ``COMMIT`` returns,
      so an acknowledged append survives a power loss (``NORMAL`` would be
      faster but could lose the last transactions in WAL mode);
    * ``busy_timeout``: a writer waits for the file lock instead of failing
      with "database is locked".

    SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN`` (the module's
    legacy mode would not open transactions for SELECT or DDL), and write
    transactions use ``BEGIN IMMEDIATE`` so they take the write lock up front:
    a deferred transaction that reads and then writes could otherwise fail
    with ``SQLITE_BUSY`` when another writer committed in between.

``postgresql+asyncpg://user:password@host:5432/database``
    for clusters. The optional ``schema`` puts the journal's tables in that
    PostgreSQL schema (through the connection's ``search_path``).

The plain schemes ``sqlite://`` and ``postgresql://`` (or ``postgres://``) are
accepted and mapped to these async drivers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from casty.errors import InvalidArgument, JournalUnavailable

__all__ = [
    "SUPPORTED_SCHEMES",
    "WRITE_TRANSACTION",
    "check_sqlite_path",
    "describe_error",
    "display_url",
    "is_unavailable_error",
    "make_blocking_sqlite_engine",
    "make_engine",
    "parse_url",
    "write_transaction",
]

SUPPORTED_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")
_ALIASES = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_URL_HELP = "sqlite+aiosqlite:///path/to/journal.db or postgresql+asyncpg://user@host:5432/database"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")

WRITE_TRANSACTION = "casty_write_transaction"
"""Execution option marking a connection whose transactions write (``BEGIN IMMEDIATE`` on SQLite)."""


def parse_url(url: str | URL) -> URL:
    """Validate a journal URL and return it with its async driver.

    Raises :class:`~casty.errors.InvalidArgument` naming the supported schemes
    for anything else.
    """
    if not isinstance(url, str | URL):
        raise InvalidArgument(f"journal URL must be a string, not {type(url).__name__}: use {_URL_HELP}")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise InvalidArgument(f"not a database URL: {str(url)!r}; use {_URL_HELP}") from exc
    driver = _ALIASES.get(parsed.drivername, parsed.drivername)
    if driver not in SUPPORTED_SCHEMES:
        raise InvalidArgument(
            f"unsupported journal URL scheme {parsed.drivername!r}: supported schemes are "
            f"{' and '.join(SUPPORTED_SCHEMES)} (e.g. {_URL_HELP})"
        )
    parsed = parsed.set(drivername=driver)
    if driver.startswith("sqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise InvalidArgument(
                "an in-memory SQLite journal is not supported (every connection would see another "
                "database): give a file path, e.g. sqlite+aiosqlite:///journal.db, or use "
                "casty.persistence.InMemoryJournal"
            )
    elif not parsed.database:
        raise InvalidArgument(f"the PostgreSQL URL names no database: {display_url(parsed)}; use {_URL_HELP}")
    return parsed


def display_url(url: URL) -> str:
    """The URL as text with its password hidden, for messages."""
    return url.render_as_string(hide_password=True)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def check_sqlite_path(url: URL) -> None:
    """Raise :class:`JournalUnavailable` early when a SQLite file cannot even be created."""
    if not is_sqlite(url):
        return
    path = Path(url.database or "")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise JournalUnavailable(
            f"cannot open the journal at {display_url(url)}: the directory {str(folder)!r} does not exist"
        )
    if path.is_dir():
        raise JournalUnavailable(
            f"cannot open the journal at {display_url(url)}: {str(path)!r} is a directory"
        )


def make_engine(
    url: URL,
    *,
    schema: str | None = None,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    echo: bool = False,
    busy_timeout: float = 30.0,
    connect_timeout: float = 10.0,
) -> AsyncEngine:
    """Create the async engine for a URL returned by :func:`parse_url`."""
    connect_args: dict[str, Any] = {}
    if is_sqlite(url):
        if schema is not None:
            raise InvalidArgument("schema= is only supported for PostgreSQL journals")
        connect_args["timeout"] = busy_timeout
    else:
        connect_args["timeout"] = connect_timeout
        if schema is not None:
            if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
                raise InvalidArgument(f"invalid PostgreSQL schema name {schema!r}")
            connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=not is_sqlite(url),
        connect_args=connect_args,
    )
    if is_sqlite(url):
        _install_sqlite_listeners(engine.sync_engine, busy_timeout)
    return engine


def make_blocking_sqlite_engine(url: URL, *, busy_timeout: float = 30.0) -> Engine:
    """A synchronous engine (the ``sqlite3`` module) on the same SQLite file, same settings.

    The journal's group-commit writer runs each batch transaction in one call
    on its own thread with this engine: one thread hand-off per batch instead
    of one per statement and fetch through ``aiosqlite``. The writer keeps
    one connection (``NullPool``: closing or invalidating it really closes
    it, and the next one is new), created and used on that one thread only.
    """
    if not is_sqlite(url):
        raise InvalidArgument(f"not a SQLite URL: {display_url(url)}")
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        poolclass=NullPool,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    _install_sqlite_listeners(engine, busy_timeout)
    return engine


def _install_sqlite_listeners(engine: Engine, busy_timeout: float) -> None:
    timeout_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_TRANSACTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a write transaction, committed when the block ends without error.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``.
    """
    async with engine.connect() as conn:
        await conn.execution_options(**{WRITE_TRANSACTION: True})
        async with conn.begin():
            yield conn


def describe_error(exc: BaseException) -> str:
    """One line describing a database/driver error, without SQLAlchemy's boilerplate."""
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    text = str(inner).strip()
    if not text:
        text = type(inner).__name__
    first = text.splitlines()[0].strip()
    # asyncpg errors are wrapped as "<class 'asyncpg...'>: message".
    first = re.sub(r"^<class '[\w.]+'>:\s*", "", first)
    return first


def is_unavailable_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (vs. a failed statement)."""
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        if isinstance(orig, OSError | TimeoutError | ConnectionError):
            return True
        text = describe_error(exc).lower()
        markers = (
            "file is not a database",
            "unable to open database",
            "connection refused",
            "could not connect",
            "connection was closed",
            "connection is closed",
            "does not exist",
            "password authentication failed",
            "no pg_hba.conf",
            "too many connections",
            "disk i/o error",
            "database disk image is malformed",
        )
        return any(m in text for m in markers) and "relation" not in text
    return False
