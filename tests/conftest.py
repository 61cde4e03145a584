"""Fixtures shared by the whole test suite.

PostgreSQL: tests that need a server use the ``postgres_url`` fixture (URL from
``CASTY_TEST_POSTGRES_URL``, default ``postgresql+asyncpg://root@127.0.0.1:5432/test``).
When no server answers they are skipped with the reason, unless the ``CI``
environment variable is set: then they fail, so CI cannot go green without
running them. ``pg_schema`` gives each test a fresh PostgreSQL schema (dropped
afterwards) so tests never see each other's tables, even when several
checkouts run their suites against the same server at once.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://root@127.0.0.1:5432/test"


def postgres_test_url() -> str:
    return os.environ.get("CASTY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    _scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep else url


async def _pg_execute(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def run_isolated(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion on a private event loop in another thread.

    Safe from sync fixtures and tests whatever event loop pytest-asyncio manages.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


_reachable: dict[str, str | None] = {}


def _postgres_problem(url: str) -> str | None:
    """``None`` when the server answers, else why not (cached per URL)."""
    if url not in _reachable:
        try:
            run_isolated(_pg_execute(url, "SELECT 1"))
            _reachable[url] = None
        except Exception as exc:  # any failure means "no usable server"
            _reachable[url] = f"{type(exc).__name__}: {exc}"
    return _reachable[url]


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL URL; skips (or fails under CI) when no server is reachable."""
    url = postgres_test_url()
    problem = _postgres_problem(url)
    if problem is not None:
        message = f"PostgreSQL not reachable at {url} ({problem}); set CASTY_TEST_POSTGRES_URL"
        if os.environ.get("CI"):
            pytest.fail(f"{message} — CI is set, so PostgreSQL tests must run", pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    name = f"casty_t_{uuid.uuid4().hex[:12]}"
    run_isolated(_pg_execute(postgres_url, f'CREATE SCHEMA "{name}"'))
    try:
        yield name
    finally:
        run_isolated(_pg_execute(postgres_url, f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
