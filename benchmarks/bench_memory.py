"""Bounded memory: 1,000,000 distinct durable map keys written over time (SQLite).

    python benchmarks/bench_memory.py                      # 1,000,000 keys
    python benchmarks/bench_memory.py --keys 200000        # fewer
    python benchmarks/bench_memory.py --quick              # smoke run (seconds)

Every key is its own entity: it starts, recovers, persists one event and
answers. Idle entities are passivated after ``--passivate-after`` seconds and
at most about ``--max-entities`` stay alive, so the process's resident memory
stays bounded however many keys are written. Progress lines show keys written,
rate, live entities and RSS; the summary gives the peak RSS and reads a sample
of keys back from a fresh system to check they are all durable.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from typing import Any

import common
from common import fmt_rate, rss_mb, table


async def main(args: Any) -> None:
    from casty import ActorSystem, Distributed
    from casty_journal_sql import SqlJournal

    keys = 3_000 if args.quick else args.keys
    callers = min(args.callers, keys)
    with tempfile.TemporaryDirectory(prefix="casty-bench-", dir=args.tmpdir) as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/journal.db"
        journal = SqlJournal(url)
        await journal.open()
        start_rss = peak = rss_mb()
        written = 0
        start = time.perf_counter()
        async with ActorSystem() as system:
            d = Distributed(
                system, journal=journal, passivate_after=args.passivate_after, max_entities=args.max_entities
            )
            users = d.map[str, int]("users")
            region = system._regions["map:users"]
            next_key = iter(range(keys))

            async def writer() -> None:
                nonlocal written
                for i in next_key:
                    await users.put(f"user-{i:08d}", i)
                    written += 1

            async def monitor() -> None:
                nonlocal peak
                last_print = last_written = 0.0
                last_time = start
                while True:
                    await asyncio.sleep(0.2)
                    peak = max(peak, rss_mb())
                    now = time.perf_counter()
                    if now - last_print >= args.report_every:
                        rate = (written - last_written) / (now - last_time)
                        print(
                            f"  {written:>10,} keys  {rate:>8,.0f} keys/s  live {region.live_entities:>7,}"
                            f"  RSS {rss_mb():>6,.0f} MB  peak {peak:,.0f} MB",
                            flush=True,
                        )
                        last_print, last_written, last_time = now, written, now

            watcher = asyncio.get_running_loop().create_task(monitor())
            try:
                await asyncio.gather(*(writer() for _ in range(callers)))
            finally:
                watcher.cancel()
            elapsed = time.perf_counter() - start
            peak = max(peak, rss_mb())
            live_at_end = region.live_entities
        end_rss = rss_mb()
        await journal.close()

        # Durable: a fresh system and journal read a sample back.
        journal = SqlJournal(url)
        sample = random.Random(7).sample(range(keys), min(200, keys))
        async with ActorSystem() as system:
            users = Distributed(system, journal=journal).map[str, int]("users")
            values = await asyncio.gather(*(users.get(f"user-{i:08d}") for i in sample))
        await journal.close()
        missing = sum(1 for i, v in zip(sample, values, strict=True) if v != i)

    table(
        f"{keys:,} durable map keys (SQLite), {callers} writers",
        [
            "keys",
            "seconds",
            "keys/s",
            "peak RSS MB",
            "RSS at start MB",
            "RSS at end MB",
            "live at end",
            "max_entities",
            "sample read back",
        ],
        [
            [
                f"{written:,}",
                f"{elapsed:,.1f}",
                fmt_rate(written / elapsed),
                f"{peak:,.0f}",
                f"{start_rss:,.0f}",
                f"{end_rss:,.0f}",
                f"{live_at_end:,}",
                f"{args.max_entities:,}",
                f"{len(sample) - missing}/{len(sample)} ok",
            ]
        ],
    )
    print(f"peak RSS: {peak:,.0f} MB")
    if missing:
        raise SystemExit(f"{missing} of {len(sample)} sampled keys were not read back")


if __name__ == "__main__":
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--callers", type=int, default=200, help="concurrent writers (default 200)")
    parser.add_argument("--passivate-after", type=float, default=5.0, help="idle seconds before passivation")
    parser.add_argument("--max-entities", type=int, default=20_000, help="live entities kept at most (about)")
    parser.add_argument("--report-every", type=float, default=10.0, help="seconds between progress lines")
    cli = parser.parse_args()
    if cli.quick:
        cli.report_every = 0.5
    common.run(lambda: main(cli), cli)
