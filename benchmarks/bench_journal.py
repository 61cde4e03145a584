"""Durable throughput, latency and recovery speed of the SQL journal, beside raw-driver baselines.

    python benchmarks/bench_journal.py                     # SQLite file and PostgreSQL
    python benchmarks/bench_journal.py --backend sqlite    # or postgres, or both
    python benchmarks/bench_journal.py --quick             # smoke run (seconds)

For each backend it measures, in the same run:

* **casty**: durable counter increments (``Distributed(system,
  journal=SqlJournal(url)).counter(name).increment()``; each answer means
  the event is committed) with 1 caller, and with ``--callers`` (default 100)
  concurrent callers spread over as many counters;
* **raw, one transaction per row**: the raw driver (aiosqlite / asyncpg)
  inserting one event row per transaction (``BEGIN; INSERT; COMMIT``) into
  a table of the same shape, with the same durability settings, with 1
  caller and with ``--callers`` concurrent callers (SQLite: one connection,
  since SQLite has one writer at a time; PostgreSQL: a pool of
  ``--raw-pool`` connections);
* **raw, batched**: the raw driver inserting ``--batch-rows`` rows per
  transaction (``executemany``), one caller: the ceiling for rows per second;
* **recovery**: an entity with ``--recovery-events`` events (default 200,000)
  and no snapshot is started and replays them all (events replayed per
  second), beside the raw driver reading and ``json.loads``-ing the same rows.

Durability is the same on both sides: SQLite in WAL mode with
``synchronous=FULL`` (a commit is on disk before it returns), PostgreSQL
with the server's ``synchronous_commit`` (default ``on``: the WAL is flushed
before ``COMMIT`` returns). A final table checks the performance targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import common
from common import Op, Result, fmt_rate, measure, table

EVENT_TYPE = "casty.counter.Added"
PAYLOAD = '{"$t":"casty.counter.Added","delta":1}'


@dataclass
class Figures:
    """What one backend measured."""

    backend: str
    casty: dict[int, Result]
    batches: dict[int, tuple[int, int]]  # callers -> (appends, transactions)
    raw_row: dict[int, Result]
    raw_batch: Result
    raw_batch_rows: int
    recovery_events: int
    recovery_seconds: float
    raw_read_seconds: float


# -- backends ---------------------------------------------------------------------
@dataclass
class Target:
    """One database for one backend: its URL, and the raw driver's way in."""

    backend: str
    url: str
    schema: str | None
    folder: str | None

    def journal(self, **kwargs: Any) -> Any:
        from casty_journal_sql import SqlJournal

        if self.backend == "sqlite":
            return SqlJournal(self.url, **kwargs)
        return SqlJournal(self.url, schema=self.schema, auto_migrate=True, **kwargs)


@contextlib.asynccontextmanager
async def database(backend: str, args: argparse.Namespace, name: str) -> AsyncIterator[Target]:
    """A fresh, empty database (SQLite file / PostgreSQL schema) with the journal schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="casty-bench-journal-", dir=args.tmpdir) as tmp:
            target = Target(backend, f"sqlite+aiosqlite:///{tmp}/{name}.db", None, tmp)
            await _create_schema(target)
            yield target
        return
    schema = f"casty_benchj_{uuid.uuid4().hex[:10]}"
    await _pg_execute(args.postgres_url, f'CREATE SCHEMA "{schema}"')
    try:
        target = Target(backend, args.postgres_url, schema, None)
        await _create_schema(target)
        yield target
    finally:
        await _pg_execute(args.postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _create_schema(target: Target) -> None:
    journal = target.journal()
    await journal.open()  # migrates (the same Alembic revision the raw baselines write into)
    await journal.close()


def _asyncpg_dsn(url: str) -> str:
    return "postgresql://" + url.partition("://")[2]


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _sqlite_path(target: Target) -> str:
    return target.url.partition(":///")[2]


async def _sqlite_connect(target: Target) -> Any:
    import aiosqlite

    db = await aiosqlite.connect(_sqlite_path(target), isolation_level=None)
    # the journal's settings (casty_journal_sql.engine)
    await db.execute("PRAGMA busy_timeout = 30000")
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = FULL")
    return db


INSERT_SQLITE = (
    "INSERT INTO casty_events (persistence_id, sequence_nr, event_type, event_version, payload, "
    "written_at, deleted) VALUES (?, ?, ?, 1, ?, ?, 0)"
)
INSERT_PG = (
    "INSERT INTO casty_events (persistence_id, sequence_nr, event_type, event_version, payload, "
    "written_at, deleted) VALUES ($1, $2, $3, 1, $4, $5, false)"
)


# -- raw baselines ------------------------------------------------------------------
async def raw_one_row_per_transaction(target: Target, callers: int, seconds: float, pool_size: int) -> Result:
    """``callers`` loops, each inserting its own entity's next event in its own transaction."""
    seqs = [0] * callers
    if target.backend == "sqlite":
        db = await _sqlite_connect(target)
        lock = asyncio.Lock()  # one connection: SQLite has one writer at a time anyway

        def make(i: int) -> Op:
            pid = f"raw-row-{callers}-{i}"

            async def op() -> None:
                seqs[i] += 1
                async with lock:
                    await db.execute("BEGIN IMMEDIATE")
                    try:
                        await db.execute(INSERT_SQLITE, (pid, seqs[i], EVENT_TYPE, PAYLOAD, time.time()))
                    except BaseException:
                        await db.execute("ROLLBACK")
                        raise
                    await db.execute("COMMIT")

            return op

        try:
            return await measure(make, callers, seconds)
        finally:
            await db.close()

    import asyncpg

    size = max(1, min(pool_size, callers))
    pool = await asyncpg.create_pool(
        _asyncpg_dsn(target.url),
        min_size=size,
        max_size=size,
        server_settings={"search_path": target.schema or "public"},
    )

    def make_pg(i: int) -> Op:
        pid = f"raw-row-{callers}-{i}"

        async def op() -> None:
            seqs[i] += 1
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(INSERT_PG, pid, seqs[i], EVENT_TYPE, PAYLOAD, time.time())

        return op

    try:
        return await measure(make_pg, callers, seconds)
    finally:
        await pool.close()


async def raw_batched(target: Target, rows_per_txn: int, seconds: float) -> Result:
    """One caller inserting ``rows_per_txn`` rows per transaction; ``ops`` counts rows."""
    state = {"seq": 0}

    def rows() -> list[tuple[Any, ...]]:
        start = state["seq"]
        state["seq"] += rows_per_txn
        now = time.time()
        return [("raw-batch", start + k + 1, EVENT_TYPE, PAYLOAD, now) for k in range(rows_per_txn)]

    if target.backend == "sqlite":
        db = await _sqlite_connect(target)

        async def op() -> None:
            await db.execute("BEGIN IMMEDIATE")
            await db.executemany(INSERT_SQLITE, rows())
            await db.execute("COMMIT")

        try:
            res = await measure(lambda i: op, 1, seconds)
        finally:
            await db.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(
            _asyncpg_dsn(target.url), server_settings={"search_path": target.schema or "public"}
        )

        async def op_pg() -> None:
            async with conn.transaction():
                await conn.executemany(INSERT_PG, rows())

        try:
            res = await measure(lambda i: op_pg, 1, seconds)
        finally:
            await conn.close()
    return Result(res.ops * rows_per_txn, res.elapsed, res.latencies)


async def raw_read(target: Target, pid: str, page: int = 1000) -> tuple[int, float]:
    """The raw driver reading one entity's events in pages and parsing each payload."""
    count = 0
    started = time.perf_counter()
    if target.backend == "sqlite":
        db = await _sqlite_connect(target)
        try:
            after = 0
            while True:
                cursor = await db.execute(
                    "SELECT sequence_nr, payload FROM casty_events WHERE persistence_id = ? "
                    "AND sequence_nr > ? AND deleted = 0 ORDER BY sequence_nr LIMIT ?",
                    (pid, after, page),
                )
                rows = await cursor.fetchall()
                await cursor.close()
                for _seq, payload in rows:
                    json.loads(payload)
                count += len(rows)
                if len(rows) < page:
                    break
                after = rows[-1][0]
        finally:
            await db.close()
    else:
        import asyncpg

        conn = await asyncpg.connect(
            _asyncpg_dsn(target.url), server_settings={"search_path": target.schema or "public"}
        )
        try:
            after = 0
            while True:
                rows = await conn.fetch(
                    "SELECT sequence_nr, payload FROM casty_events WHERE persistence_id = $1 "
                    "AND sequence_nr > $2 AND NOT deleted ORDER BY sequence_nr LIMIT $3",
                    pid,
                    after,
                    page,
                )
                for row in rows:
                    json.loads(row[1])
                count += len(rows)
                if len(rows) < page:
                    break
                after = rows[-1][0]
        finally:
            await conn.close()
    return count, time.perf_counter() - started


# -- casty ------------------------------------------------------------------------------
async def casty_increments(target: Target, callers: int, seconds: float) -> tuple[Result, tuple[int, int]]:
    """Durable counter increments: ``callers`` loops over as many counters."""
    from casty import ActorSystem, Distributed

    journal = target.journal()
    await journal.open()
    try:
        async with ActorSystem() as system:
            d = Distributed(system, journal=journal)
            counters = [d.counter(f"bench-{callers}-{i}", shards=10) for i in range(callers)]
            for counter in counters:  # start the entities (recovery) before measuring
                await counter.get()
            appends, batches = journal.appends_committed, journal.batches_committed
            res = await measure(lambda i: counters[i].increment, callers, seconds)
            stats = (journal.appends_committed - appends, journal.batches_committed - batches)
    finally:
        await journal.close()
    return res, stats


async def casty_recovery(target: Target, events: int) -> float:
    """Seconds for a counter with ``events`` events and no snapshot to recover and answer."""
    from casty import ActorSystem, Distributed
    from casty.distributed.counter import Added

    journal = target.journal()
    await journal.open()
    try:
        seq, chunk = 0, 10_000
        while seq < events:
            seq = await journal.append("counter:recovery", [Added(1)] * min(chunk, events - seq), seq)
    finally:
        await journal.close()

    journal = target.journal()
    await journal.open()
    try:
        async with ActorSystem() as system:
            counter = Distributed(system, journal=journal).counter("recovery", shards=1, timeout=600)
            started = time.perf_counter()
            value = await counter.get()
            elapsed = time.perf_counter() - started
            if value != events:
                raise SystemExit(f"recovery gave {value}, expected {events}")
            if journal.rows_read != events:
                raise SystemExit(f"recovery read {journal.rows_read} rows, expected {events}")
    finally:
        await journal.close()
    return elapsed


# -- running ------------------------------------------------------------------------------
async def measure_backend(backend: str, args: argparse.Namespace) -> Figures:
    seconds = args.seconds
    levels = sorted({1, args.callers})
    casty: dict[int, Result] = {}
    batches: dict[int, tuple[int, int]] = {}
    raw_row: dict[int, Result] = {}
    # Interleave casty and raw runs so that a change in machine load hits both.
    for callers in levels:
        async with database(backend, args, "raw") as target:
            raw_row[callers] = await raw_one_row_per_transaction(target, callers, seconds, args.raw_pool)
        async with database(backend, args, "casty") as target:
            casty[callers], batches[callers] = await casty_increments(target, callers, seconds)
    async with database(backend, args, "batch") as target:
        raw_batch = await raw_batched(target, args.batch_rows, seconds)
    async with database(backend, args, "recovery") as target:
        recovery = await casty_recovery(target, args.recovery_events)
        count, raw_read_seconds = await raw_read(target, "counter:recovery")
        assert count == args.recovery_events
    return Figures(
        backend,
        casty,
        batches,
        raw_row,
        raw_batch,
        args.batch_rows,
        args.recovery_events,
        recovery,
        raw_read_seconds,
    )


def report(f: Figures, args: argparse.Namespace) -> None:
    levels = sorted(f.casty)
    rows: list[list[str]] = []
    for callers in levels:
        raw = f.raw_row[callers]
        rows.append(
            [
                f"raw: 1 transaction per row x{callers}",
                fmt_rate(raw.rate),
                f"{raw.p50_ms:.2f}",
                f"{raw.p99_ms:.2f}",
                "1.00x",
                "",
            ]
        )
    for callers in levels:
        res, raw = f.casty[callers], f.raw_row[callers]
        appends, txns = f.batches[callers]
        rows.append(
            [
                f"casty counter.increment x{callers}",
                fmt_rate(res.rate),
                f"{res.p50_ms:.2f}",
                f"{res.p99_ms:.2f}",
                f"{res.rate / raw.rate:.2f}x",
                f"{appends / txns:.1f}" if txns else "-",
            ]
        )
    b = f.raw_batch
    rows.append(
        [
            f"raw: {f.raw_batch_rows} rows per transaction x1",
            fmt_rate(b.rate),
            f"{b.p50_ms:.2f}",
            f"{b.p99_ms:.2f}",
            f"{b.rate / f.raw_row[1].rate:.2f}x",
            str(f.raw_batch_rows),
        ]
    )
    header = ["durable writes", "rows/s", "p50 ms", "p99 ms", "vs raw per row", "rows/txn"]
    table(f"{f.backend}: durable writes (ratios against raw 1 txn/row at the same concurrency)", header, rows)
    print("   (latency of the batched baseline is per transaction)")

    rec_rate = f.recovery_events / f.recovery_seconds
    raw_rate = f.recovery_events / f.raw_read_seconds
    table(
        f"{f.backend}: recovery of one entity with {f.recovery_events:,} events, no snapshot",
        ["replay", "events/s", "seconds", "vs raw read"],
        [
            ["raw: SELECT pages + json.loads", fmt_rate(raw_rate), f"{f.raw_read_seconds:.2f}", "1.00x"],
            [
                "casty entity recovery",
                fmt_rate(rec_rate),
                f"{f.recovery_seconds:.2f}",
                f"{rec_rate / raw_rate:.2f}x",
            ],
        ],
    )


def targets(all_figures: list[Figures], many: int) -> None:
    rows: list[list[str]] = []

    def check(goal: str, ok: bool, shown: str) -> None:
        rows.append([goal, shown, "met" if ok else "MISSED"])

    for f in all_figures:
        if many in f.casty:
            ratio = f.casty[many].rate / f.raw_row[many].rate
            check(f"{f.backend}, {many} callers: >= 5x raw 1 txn/row", ratio >= 5, f"{ratio:.2f}x")
            ratio1 = f.casty[many].rate / f.raw_row[1].rate
            check(
                f"{f.backend}, {many} callers: >= 5x raw 1 txn/row at 1 caller", ratio1 >= 5, f"{ratio1:.2f}x"
            )
            if f.backend == "sqlite":
                rate = f.casty[many].rate
                check(f"sqlite, {many} callers: >= 10,000 increments/s", rate >= 10_000, fmt_rate(rate))
        rec = f.recovery_events / f.recovery_seconds
        check(f"{f.backend}: recovery >= 50,000 events/s", rec >= 50_000, fmt_rate(rec))
    table("targets", ["target", "measured", "status"], rows)


async def describe(backends: list[str], args: argparse.Namespace) -> None:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load is not None:
        print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if "sqlite" in backends:
        print(f"SQLite {sqlite3.sqlite_version}: journal_mode=WAL, synchronous=FULL")
    if "postgres" in backends:
        import asyncpg

        conn = await asyncpg.connect(_asyncpg_dsn(args.postgres_url), timeout=5)
        try:
            version = await conn.fetchval("SHOW server_version")
            sync = await conn.fetchval("SHOW synchronous_commit")
            fsync = await conn.fetchval("SHOW fsync")
        finally:
            await conn.close()
        print(f"PostgreSQL {version}: synchronous_commit={sync}, fsync={fsync}")


async def main(args: argparse.Namespace) -> None:
    args.backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    if args.quick:
        args.seconds = min(args.seconds, 0.3)
        args.recovery_events = min(args.recovery_events, 5_000)
        args.batch_rows = min(args.batch_rows, 200)
    backends = await common.usable_backends(args)
    await describe(backends, args)
    figures: list[Figures] = []
    for backend in backends:
        f = await measure_backend(backend, args)
        report(f, args)
        figures.append(f)
    if figures:
        targets(figures, args.callers)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = common.base_parser((__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--callers", type=int, default=100, help="the concurrent level (default 100)")
    parser.add_argument("--raw-pool", type=int, default=10, help="PostgreSQL connections of the raw baseline")
    parser.add_argument("--batch-rows", type=int, default=1000, help="rows per transaction, batched baseline")
    parser.add_argument("--recovery-events", type=int, default=200_000, help="events replayed by recovery")
    return parser.parse_args(argv)


if __name__ == "__main__":
    cli = parse()
    run: Callable[[], Awaitable[None]] = lambda: main(cli)  # noqa: E731
    common.run(run, cli)
