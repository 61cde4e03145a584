"""Fixtures: run each structure test in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from casty import ActorSystem, Distributed
from casty.persistence import EventJournal

PG_URL = os.environ.get("CASTY_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(PG_URL.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but PostgreSQL is not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set CASTY_TEST_POSTGRES_URL)")


class Backend:
    """Opens journals on one backend; ``open()`` again reaches the same stored data."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.url = {
            "memory": "",
            "sqlite": f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}",
            "postgres": PG_URL,
        }[kind]
        self._memory: EventJournal | None = None

    async def open(self) -> EventJournal:
        if self.kind == "memory":
            from casty.persistence import InMemoryJournal

            if self._memory is None:
                self._memory = InMemoryJournal()
            return self._memory
        from casty_journal_sql import SqlJournal

        return SqlJournal(self.url, auto_migrate=True)

    async def close(self, journal: EventJournal) -> None:
        if self.kind != "memory":
            await journal.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgres":
        require_postgres()
    return Backend(request.param, tmp_path)


@pytest.fixture
def name() -> str:
    """A structure name unique to the test, so PostgreSQL runs never share data."""
    return f"t{uuid.uuid4().hex[:12]}"


Opened = Callable[[], Awaitable[Distributed]]


@pytest.fixture
async def d(backend: Backend) -> AsyncIterator[Distributed]:
    journal = await backend.open()
    async with ActorSystem() as system:
        yield Distributed(system, journal=journal)
    await backend.close(journal)
