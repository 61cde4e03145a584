"""Shared helpers of the benchmark scripts: timing, baselines, tables, backends.

Not part of the library. Every script measures its baselines in the same run
(same process, same event loop, same machine state) and prints ratios against
them, because absolute numbers mean little across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES_URL = os.environ.get(
    "CASTY_BENCH_POSTGRES_URL",
    os.environ.get("CASTY_TEST_POSTGRES_URL", "postgresql+asyncpg://root@127.0.0.1:5432/test"),
)
DEFAULT_REDIS_URL = os.environ.get("CASTY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

Op = Callable[[], Awaitable[Any]]


# -- measuring -----------------------------------------------------------------
@dataclass(slots=True)
class Result:
    """Throughput and latency of one measured operation."""

    ops: int
    elapsed: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        lat = self.latencies
        if not lat:
            return float("nan")
        lat.sort()
        return lat[min(len(lat) - 1, int(p / 100.0 * len(lat)))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(50) * 1000.0

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000.0


async def measure(
    make_op: Callable[[int], Op],
    callers: int,
    seconds: float,
    *,
    limit: Callable[[int], int] | None = None,
    warmup: float | None = None,
) -> Result:
    """Run ``callers`` concurrent loops of ``make_op(i)()`` for ``seconds``.

    Each call's latency is recorded. ``limit(i)`` caps the number of calls of
    caller ``i`` (e.g. dequeue no more items than were enqueued). A short
    warm-up (not recorded) runs first unless ``warmup=0``.
    """
    ops = [make_op(i) for i in range(callers)]
    done = [0] * callers
    caps = [limit(i) if limit is not None else 1 << 62 for i in range(callers)]
    warm = min(0.2, seconds * 0.1) if warmup is None else warmup
    if warm > 0:
        warm_end = time.perf_counter() + warm

        async def warm_loop(i: int) -> None:
            op = ops[i]
            while time.perf_counter() < warm_end and done[i] < caps[i]:
                await op()
                done[i] += 1

        await asyncio.gather(*(warm_loop(i) for i in range(callers)))

    latencies: list[float] = []
    record = latencies.append
    clock = time.perf_counter
    count = [0]

    async def loop(i: int) -> None:
        op = ops[i]
        cap = caps[i]
        n = done[i]
        while n < cap:
            start = clock()
            if start >= end:
                break
            await op()
            record(clock() - start)
            n += 1
        count[0] += n - done[i]
        done[i] = n

    begin = clock()
    end = begin + seconds
    await asyncio.gather(*(loop(i) for i in range(callers)))
    elapsed = clock() - begin
    return Result(count[0], elapsed, latencies)


# -- baselines -----------------------------------------------------------------
async def asyncio_roundtrip(callers: int, seconds: float) -> Result:
    """Bare asyncio: one consumer task answers futures taken from an ``asyncio.Queue``."""
    queue: asyncio.Queue[tuple[asyncio.Future[int], int]] = asyncio.Queue()

    async def consumer() -> None:
        get = queue.get
        while True:
            future, value = await get()
            if not future.done():
                future.set_result(value + 1)

    task = asyncio.get_running_loop().create_task(consumer())
    loop = asyncio.get_running_loop()

    def make(i: int) -> Op:
        put = queue.put_nowait

        async def op() -> int:
            future = loop.create_future()
            put((future, i))
            return await future

        return op

    try:
        return await measure(make, callers, seconds)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def redis_client(url: str = DEFAULT_REDIS_URL) -> tuple[Any | None, str]:
    """A connected ``redis.asyncio`` client, or ``None`` and why not."""
    try:
        import redis.asyncio as aioredis
    except ImportError:
        return None, "redis-py is not installed (pip install redis)"
    client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, max_connections=512)
    try:
        await asyncio.wait_for(client.ping(), 1.0)
    except Exception as exc:
        with contextlib.suppress(Exception):
            await client.aclose()
        return None, f"Redis unreachable at {url} ({type(exc).__name__}: {exc})"
    return client, ""


async def redis_incr(client: Any, callers: int, seconds: float) -> Result:
    """``INCR`` on ``callers`` distinct keys, one loop per key (like the structures)."""
    prefix = f"casty-bench:{uuid.uuid4().hex[:8]}:"

    def make(i: int) -> Op:
        key = f"{prefix}{i}"
        incr = client.incr

        async def op() -> int:
            return await incr(key)  # type: ignore[no-any-return]

        return op

    try:
        return await measure(make, callers, seconds)
    finally:
        with contextlib.suppress(Exception):
            keys = [f"{prefix}{i}" for i in range(callers)]
            await client.delete(*keys)


# -- backends ------------------------------------------------------------------
async def postgres_problem(url: str) -> str | None:
    """``None`` if PostgreSQL answers at ``url``, else why not."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed (pip install 'casty[postgres]')"
    dsn = "postgresql://" + url.partition("://")[2]
    try:
        conn = await asyncpg.connect(dsn, timeout=2)
        await conn.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + url.partition("://")[2], timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def open_journal(backend: str, args: argparse.Namespace) -> AsyncIterator[Any]:
    """A fresh, empty journal for ``backend`` (``memory``, ``sqlite``, ``postgres``)."""
    if backend == "memory":
        yield None  # Distributed(journal=None): the in-memory default
        return
    from casty_journal_sql import SqlJournal

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="casty-bench-", dir=args.tmpdir) as tmp:
            journal = SqlJournal(f"sqlite+aiosqlite:///{tmp}/journal.db")
            try:
                await journal.open()
                yield journal
            finally:
                await journal.close()
        return
    if backend == "postgres":
        schema = f"casty_bench_{uuid.uuid4().hex[:10]}"
        await _pg_execute(args.postgres_url, f'CREATE SCHEMA "{schema}"')
        try:
            journal = SqlJournal(args.postgres_url, schema=schema, auto_migrate=True, pool_size=10)
            try:
                await journal.open()
                yield journal
            finally:
                await journal.close()
        finally:
            await _pg_execute(args.postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return
    raise SystemExit(f"unknown backend {backend!r}")


async def usable_backends(args: argparse.Namespace) -> list[str]:
    """The requested backends; PostgreSQL is skipped with a message when unreachable."""
    chosen: list[str] = []
    for backend in args.backends:
        if backend == "postgres":
            problem = await postgres_problem(args.postgres_url)
            if problem is not None:
                print(f"(skipping PostgreSQL: not reachable at {args.postgres_url}: {problem})")
                continue
        chosen.append(backend)
    return chosen


# -- command line and output -----------------------------------------------------
def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny durations and sizes")
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="event loop (uvloop must be installed; default: asyncio)",
    )
    parser.add_argument("--tmpdir", default=None, help="where temporary SQLite files go")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    return parser


def backends_arg(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--backends",
        default=default,
        type=lambda s: [b.strip() for b in s.split(",") if b.strip()],
        help=f"comma-separated subset of memory,sqlite,postgres (default: {default})",
    )


def run(main: Callable[[], Awaitable[Any]], args: argparse.Namespace) -> Any:
    """Run ``main()`` on the chosen event loop."""
    import casty

    if args.loop == "uvloop":
        try:
            import uvloop  # noqa: F401
        except ImportError:
            raise SystemExit("--loop uvloop: uvloop is not installed (pip install 'casty[fast]')") from None
    print(f"python {sys.version.split()[0]}, loop: {args.loop}, cpus: {os.cpu_count()}")
    return casty.run(main(), use_uvloop=args.loop == "uvloop")


def fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 10 else f"{value * 100:.0f}%" if value < 1 else f"{value:.2f}x"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print a plain-text table under ``== title ==``."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n== {title} ==")
    pairs = list(zip(header, widths, strict=True))
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(pairs))
    print(line)
    print("-" * len(line))
    for row in rows:
        cells = list(zip(row, widths, strict=True))
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(cells)))
    sys.stdout.flush()


def rss_mb() -> float:
    """Resident set size of this process in MiB."""
    import psutil

    return float(psutil.Process().memory_info().rss) / (1 << 20)
