"""Fixtures of the journal tests: one journal per backend, fresh for each test.

``backend`` / ``journal`` are parametrized over the in-memory journal, a
SQLite file in ``tmp_path`` and PostgreSQL (a fresh schema per test, see
``pg_schema`` in ``tests/conftest.py``); ``sql_backend`` / ``sql_journal``
over the two SQL backends only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from casty.persistence import EventJournal, InMemoryJournal
from casty_journal_sql import SqlJournal

ALL_BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Backend:
    """Makes journals of one kind; every SQL journal it makes shares one database."""

    name: str
    url: str | None = None
    schema: str | None = None
    opened: list[Any] = field(default_factory=list)

    @property
    def is_sql(self) -> bool:
        return self.url is not None

    def make(self, **kwargs: Any) -> Any:
        journal: Any
        if self.url is None:
            journal = InMemoryJournal(**kwargs)
        else:
            kwargs.setdefault("auto_migrate", True)
            journal = SqlJournal(self.url, schema=self.schema, **kwargs)
        self.opened.append(journal)
        return journal

    async def close_all(self) -> None:
        for journal in self.opened:
            await journal.close()


def _make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "memory":
        return Backend("memory")
    if name == "sqlite":
        return Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}")
    url = request.getfixturevalue("postgres_url")
    schema = request.getfixturevalue("pg_schema")
    return Backend("postgres", url, schema)


@pytest.fixture(params=ALL_BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = _make_backend(request.param, request, tmp_path)
    yield b
    await b.close_all()


@pytest.fixture(params=SQL_BACKENDS)
async def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = _make_backend(request.param, request, tmp_path)
    yield b
    await b.close_all()


@pytest.fixture
def journal(backend: Backend) -> EventJournal:
    j: EventJournal = backend.make()
    return j


@pytest.fixture
def sql_journal(sql_backend: Backend) -> SqlJournal:
    j: SqlJournal = sql_backend.make()
    return j


RawSql = Callable[..., Awaitable[list[tuple[Any, ...]]]]


async def _raw_sql(
    journal: SqlJournal, sql: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run one raw SQL statement on the journal's database (to corrupt rows, add triggers…)."""
    await journal.open()
    async with journal.engine.begin() as conn:
        result = await conn.execute(sa.text(sql), params or {})
        return [tuple(row) for row in result] if result.returns_rows else []


@pytest.fixture
def raw_sql() -> RawSql:
    return _raw_sql
