"""Fixtures of the ``casty-journal`` CLI tests: journals written by the real structures.

``written`` is parametrized over SQLite and PostgreSQL: a journal that
``ActorSystem`` + ``Distributed(system, journal=SqlJournal(url))`` filled with
every kind of structure, written once per test module and only read by the
tests that use it (they check that reading never writes). PostgreSQL data
lives in a schema of its own (created and dropped here), so runs never see
each other's rows. Tests that damage a journal make their own copy first.

PostgreSQL is skipped when unreachable, unless ``CI`` is set (then the
``postgres_url`` fixture of ``tests/conftest.py`` fails the test).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from casty import ActorSystem, Distributed
from casty.persistence import serializable
from casty_journal_sql import SqlJournal
from casty_journal_sql.cli import app


@serializable("clitest.User")
@dataclass(frozen=True)
class User:
    name: str
    age: int


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a private loop in another thread (safe whatever loop pytest runs)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


_runner = CliRunner()


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Invoke ``casty-journal`` in-process (``CASTY_JOURNAL_URL`` unset unless given)."""
    return _runner.invoke(app, list(args), input=input, env={"CASTY_JOURNAL_URL": "", **(env or {})})


async def write_structures(url: str, schema: str | None = None) -> None:
    """Fill a journal through the real structures: every kind, with snapshots and deletes."""
    journal = SqlJournal(url, schema=schema, auto_migrate=True)
    async with ActorSystem() as system:
        d = Distributed(system, journal=journal)
        hits = d.counter("hits", shards=5)
        await asyncio.gather(*(hits.increment() for _ in range(1005)))  # snapshot at >= 1000
        await hits.decrement(5)
        users = d.map[str, User]("users", shards=5)
        for age in range(120):  # snapshot at 100
            await users.put("alice", User("Alice", age))
        await users.put("bob", User("Bob", 5))
        await users.delete("bob")
        tags = d.set[str]("tags", shards=5)
        await asyncio.gather(*(tags.add(f"tag-{i:03}") for i in range(505)))  # a set snapshot at >= 500
        await tags.remove("tag-007")
        jobs = d.queue[str]("jobs", shards=5)
        for job in ("build", "test", "ship"):
            await jobs.enqueue(job)
        assert await jobs.dequeue() == "build"
        lock = d.lock("deploy", shards=5)
        await lock.acquire()
        await lock.release()
        sem = d.semaphore("db", permits=2, shards=5)
        await sem.acquire()
        barrier = d.barrier("phase", node_id="node-a", shards=5)
        await barrier.arrive(expected=1)
    await journal.close()


STRUCTURE_IDS = [
    "barrier:phase",
    "counter:hits",
    "lock:deploy",
    "map:users:alice",
    "map:users:bob",
    "queue:jobs",
    "semaphore:db",
    "set:tags",
]


@dataclass
class Target:
    """A journal database: its URL, PostgreSQL schema and the matching CLI options."""

    url: str
    schema: str | None = None
    path: Path | None = None
    cleanup: list[Any] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "sqlite" if self.schema is None else "postgres"

    @property
    def args(self) -> list[str]:
        return ["--url", self.url] + ([] if self.schema is None else ["--schema", self.schema])

    def sql(self, statement: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run raw SQL on this journal's database (to corrupt rows); returns the rows."""
        return run_async(raw_sql(self.url, self.schema, statement, params))


async def raw_sql(
    url: str, schema: str | None, statement: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    from casty_journal_sql.engine import make_engine, parse_url

    engine = make_engine(parse_url(url), schema=schema)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(statement), params or {})
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def new_schema(postgres_url: str) -> str:
    name = f"casty_cli_{uuid.uuid4().hex[:12]}"
    run_async(raw_sql(postgres_url, None, f'CREATE SCHEMA "{name}"'))
    return name


def drop_schema(postgres_url: str, name: str) -> None:
    run_async(raw_sql(postgres_url, None, f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(scope="module")
def sqlite_written(tmp_path_factory: pytest.TempPathFactory) -> Target:
    """A SQLite journal written by the structures (read-only for the tests)."""
    path = tmp_path_factory.mktemp("written") / "journal.db"
    url = f"sqlite+aiosqlite:///{path}"
    run_async(write_structures(url))
    return Target(url, path=path)


@pytest.fixture(scope="module")
def postgres_written(postgres_url: str) -> Iterator[Target]:
    """A PostgreSQL journal (own schema) written by the structures."""
    schema = new_schema(postgres_url)
    try:
        run_async(write_structures(postgres_url, schema))
        yield Target(postgres_url, schema)
    finally:
        drop_schema(postgres_url, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def written(request: pytest.FixtureRequest) -> Target:
    """The journal written by the structures, on each backend."""
    name = "sqlite_written" if request.param == "sqlite" else "postgres_written"
    target: Target = request.getfixturevalue(name)
    return target


@pytest.fixture
def sqlite_copy(sqlite_written: Target, tmp_path: Path) -> Target:
    """A private copy of the written SQLite journal, free to damage."""
    assert sqlite_written.path is not None
    path = tmp_path / "copy.db"
    shutil.copy(sqlite_written.path, path)
    return Target(f"sqlite+aiosqlite:///{path}", path=path)


@pytest.fixture
def pg_target(postgres_url: str) -> Iterator[Target]:
    """An empty PostgreSQL schema of this test's own (no journal tables yet)."""
    schema = new_schema(postgres_url)
    try:
        yield Target(postgres_url, schema)
    finally:
        drop_schema(postgres_url, schema)


@pytest.fixture
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A private, writable copy of the written journal on each backend (via ``copy`` for PostgreSQL)."""
    source: Target = request.getfixturevalue("sqlite_copy")
    if getattr(request, "param", "sqlite") == "sqlite":
        return source
    target: Target = request.getfixturevalue("pg_target")
    result = cli(
        "copy", "--from", source.url, "--to", target.url, "--to-schema", str(target.schema), "--migrate"
    )
    assert result.exit_code == 0, result.output
    return target


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
