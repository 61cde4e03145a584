"""Programmatic access to the journal schema's Alembic migrations.

The revisions ship inside the package ``casty_journal_sql.migrations`` and are
found with :mod:`importlib.resources`, so this works from an installed wheel,
anywhere, without an ``alembic.ini``::

    from casty_journal_sql import migrate

    migrate.upgrade("postgresql+asyncpg://app@db/app")      # to the newest revision
    migrate.current("postgresql+asyncpg://app@db/app")      # -> "0001_initial"
    migrate.downgrade("sqlite+aiosqlite:///app.db", "base")  # drop the journal tables
    [r.revision for r in migrate.history()]                  # oldest first

The synchronous functions run their own event loop; inside async code use the
``*_async`` variants. Each migration runs in one transaction that holds a lock
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two
processes migrating at once do not trip over each other. Errors are typed:
:class:`~casty.errors.InvalidArgument` (bad URL or revision),
:class:`~casty.errors.JournalUnavailable` (database unreachable),
:class:`~casty.errors.JournalError` (the migration failed).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import zlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from casty.errors import CastyError, InvalidArgument, JournalError, JournalUnavailable, SchemaError
from casty_journal_sql.engine import (
    check_sqlite_path,
    describe_error,
    display_url,
    is_sqlite,
    is_unavailable_error,
    make_engine,
    parse_url,
    write_transaction,
)
from casty_journal_sql.schema import EVENTS_TABLE, SNAPSHOTS_TABLE, VERSION_TABLE

__all__ = [
    "MIGRATE_COMMAND",
    "RevisionInfo",
    "SchemaStatus",
    "alembic_config",
    "current",
    "current_async",
    "downgrade",
    "downgrade_async",
    "head_revision",
    "history",
    "script_location",
    "upgrade",
    "upgrade_async",
]

T = TypeVar("T")

MIGRATE_COMMAND = "casty-journal migrate upgrade --url {url}"
"""The command that brings a journal's schema up to date (shown in :class:`SchemaError`)."""

_MIGRATION_LOCK = zlib.crc32(b"casty_journal_sql.migrate") & 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision of the journal schema."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool


def script_location() -> str:
    """The folder holding ``env.py`` and ``versions/`` (inside the installed package)."""
    try:
        files = importlib.resources.files("casty_journal_sql.migrations")
        path = Path(str(files))
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parent.parent / "migrations"
    if not (path / "env.py").is_file():
        fallback = Path(__file__).resolve().parent.parent / "migrations"
        if (fallback / "env.py").is_file():
            path = fallback
        else:
            raise JournalError(f"the journal migrations are missing (no env.py in {path})")
    return str(path)


def alembic_config(
    *, url: str | None = None, connection: Connection | None = None, schema: str | None = None
) -> Config:
    """An Alembic :class:`Config` for the journal's migrations (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location().replace("%", "%%"))
    if url is not None:
        cfg.attributes["url"] = url
    if connection is not None:
        cfg.attributes["connection"] = connection
    if schema is not None:
        cfg.attributes["schema"] = schema
    return cfg


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision of the journal schema."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise JournalError("the journal migrations hold no revision")
    return head


def history() -> list[RevisionInfo]:
    """Every revision of the journal schema, oldest first."""
    scripts = _scripts()
    heads = set(scripts.get_heads())
    revisions = list(scripts.walk_revisions("base", "heads"))
    revisions.reverse()
    out: list[RevisionInfo] = []
    for rev in revisions:
        down = rev.down_revision
        if isinstance(down, tuple | list):
            down = ",".join(down)
        out.append(RevisionInfo(rev.revision, down, (rev.doc or "").strip(), rev.revision in heads))
    return out


def is_known_revision(revision: str) -> bool:
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


# -- operations on a sync connection (inside conn.run_sync) --------------------


def read_revision(connection: Connection) -> str | None:
    """The revision stamped in the database (``None`` when never migrated)."""
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """What a database holds of the journal schema."""

    has_tables: bool
    has_version_table: bool
    revision: str | None


def inspect_schema(connection: Connection) -> SchemaStatus:
    inspector = sa.inspect(connection)
    names = set(inspector.get_table_names())
    has_tables = EVENTS_TABLE in names or SNAPSHOTS_TABLE in names
    has_version = VERSION_TABLE in names
    revision = read_revision(connection) if has_version else None
    return SchemaStatus(has_tables, has_version, revision)


def schema_problem(status: SchemaStatus, url: URL) -> Literal["missing", "behind"] | None:
    """Classify ``status``; raises :class:`SchemaError` for a state no upgrade can fix."""
    shown = display_url(url)
    if status.revision is None:
        if status.has_tables:
            raise SchemaError(
                f"the journal tables in {shown} carry no schema revision ({VERSION_TABLE} is "
                "missing or empty): they were not created by casty-journal migrate"
            )
        return "missing"
    head = head_revision()
    if status.revision == head:
        return None
    if not is_known_revision(status.revision):
        raise SchemaError(
            f"the journal schema in {shown} is at revision {status.revision!r}, unknown to this "
            f"version of casty (newest known: {head!r}): was it written by a newer casty?"
        )
    return "behind"


def migrate_command(url: URL, schema: str | None = None) -> str:
    """The shell command that upgrades the journal schema at ``url``."""
    cmd = MIGRATE_COMMAND.format(url=display_url(url))
    return cmd if schema is None else f"{cmd} --schema {schema}"


def schema_error(
    problem: Literal["missing", "behind"], status: SchemaStatus, url: URL, schema: str | None = None
) -> SchemaError:
    shown = display_url(url)
    how = f"run `{migrate_command(url, schema)}` (or pass auto_migrate=True)"
    if problem == "missing":
        return SchemaError(f"the journal schema is missing in {shown}: {how}")
    return SchemaError(
        f"the journal schema in {shown} is at revision {status.revision!r}, older than "
        f"{head_revision()!r}: {how}"
    )


def run_upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade on ``connection`` (inside its transaction)."""
    try:
        command.upgrade(alembic_config(connection=connection), revision)
    except CommandError as exc:
        raise InvalidArgument(f"cannot upgrade to {revision!r}: {exc}") from exc


def run_downgrade(connection: Connection, revision: str) -> None:
    """Downgrade on ``connection`` (inside its transaction)."""
    try:
        command.downgrade(alembic_config(connection=connection), revision)
    except CommandError as exc:
        raise InvalidArgument(f"cannot downgrade to {revision!r}: {exc}") from exc


# -- async API ------------------------------------------------------------------


@asynccontextmanager
async def migration_transaction(
    engine: AsyncEngine, url: URL, *, schema: str | None = None
) -> AsyncIterator[AsyncConnection]:
    """A write transaction holding the migration lock; errors become casty errors."""
    check_sqlite_path(url)
    try:
        async with write_transaction(engine) as conn:
            if not is_sqlite(url):
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
                if schema is not None:
                    await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            yield conn
    except CastyError:
        raise
    except Exception as exc:
        if is_unavailable_error(exc):
            raise JournalUnavailable(
                f"cannot use the journal database {display_url(url)}: {describe_error(exc)}"
            ) from exc
        raise JournalError(f"migration of {display_url(url)} failed: {describe_error(exc)}") from exc


async def _with_engine(url: str, schema: str | None, fn: Any) -> Any:
    parsed = parse_url(url)
    engine = make_engine(parsed, schema=schema, pool_size=1, max_overflow=0)
    try:
        return await fn(engine, parsed)
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head", *, schema: str | None = None) -> str | None:
    """Upgrade the journal schema at ``url`` to ``revision``; return the new revision."""

    async def go(engine: AsyncEngine, parsed: URL) -> str | None:
        async with migration_transaction(engine, parsed, schema=schema) as conn:
            await conn.run_sync(run_upgrade, revision)
            return await conn.run_sync(read_revision)

    result: str | None = await _with_engine(url, schema, go)
    return result


async def downgrade_async(url: str, revision: str, *, schema: str | None = None) -> str | None:
    """Downgrade the journal schema at ``url`` to ``revision`` (``"base"`` drops it all)."""

    async def go(engine: AsyncEngine, parsed: URL) -> str | None:
        async with migration_transaction(engine, parsed, schema=schema) as conn:
            await conn.run_sync(run_downgrade, revision)
            return await conn.run_sync(read_revision)

    result: str | None = await _with_engine(url, schema, go)
    return result


async def current_async(url: str, *, schema: str | None = None) -> str | None:
    """The revision the journal schema at ``url`` is at (``None``: never migrated)."""

    async def go(engine: AsyncEngine, parsed: URL) -> str | None:
        if is_sqlite(parsed) and not Path(parsed.database or "").exists():
            return None  # do not create a database file just to look at it
        try:
            async with engine.connect() as conn:
                status = await conn.run_sync(inspect_schema)
        except CastyError:
            raise
        except Exception as exc:
            raise JournalUnavailable(
                f"cannot open the journal database {display_url(parsed)}: {describe_error(exc)}"
            ) from exc
        return status.revision

    result: str | None = await _with_engine(url, schema, go)
    return result


# -- sync API ---------------------------------------------------------------------


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError("called inside a running event loop: await the *_async variant instead")


def upgrade(url: str, revision: str = "head", *, schema: str | None = None) -> str | None:
    """Upgrade the journal schema at ``url`` to ``revision`` (default: the newest)."""
    return _run(upgrade_async(url, revision, schema=schema))


def downgrade(url: str, revision: str, *, schema: str | None = None) -> str | None:
    """Downgrade the journal schema at ``url`` to ``revision``; ``"base"`` drops the tables."""
    return _run(downgrade_async(url, revision, schema=schema))


def current(url: str, *, schema: str | None = None) -> str | None:
    """The revision of the journal schema at ``url``, or ``None`` if it was never migrated."""
    return _run(current_async(url, schema=schema))
