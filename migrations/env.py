"""Alembic environment of the casty SQL journal (async-capable, no alembic.ini needed).

Two ways in:

* **Connection sharing** (what :mod:`casty_journal_sql.migrate` and
  ``SqlJournal`` do): the caller opens an async connection, enters
  ``run_sync`` and passes the sync ``Connection`` as
  ``config.attributes["connection"]``. The migration runs inside the caller's
  transaction, so a lock the caller took (e.g. ``BEGIN IMMEDIATE`` on SQLite)
  covers it.
* **URL**: ``config.attributes["url"]`` or the ``sqlalchemy.url`` main option
  (``sqlite+aiosqlite:///…`` or ``postgresql+asyncpg://…``); this file then
  creates an async engine and runs the migrations with ``asyncio.run``.
  ``config.attributes["schema"]`` selects a PostgreSQL schema.

The version table is ``casty_alembic_version`` so the journal's revisions
never mix with an application's own Alembic history in the same database.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from casty_journal_sql.engine import make_engine, parse_url
from casty_journal_sql.schema import VERSION_TABLE

config = context.config
target_metadata = None


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no database URL: pass it as Config.attributes['url'] or the sqlalchemy.url option"
        )
    return str(url)


def run_migrations_offline() -> None:
    """Emit the migration SQL as a script (``alembic upgrade --sql``)."""
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = make_engine(parse_url(_url()), schema=config.attributes.get("schema"), pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
