"""Throughput and latency of every structure operation, beside baselines from the same run.

    python benchmarks/bench_structures.py                      # memory + SQLite + PostgreSQL
    python benchmarks/bench_structures.py --backends memory    # just in memory
    python benchmarks/bench_structures.py --quick              # smoke run (seconds)

For each backend and for 1 caller and for ``--callers`` (default 100)
concurrent callers spread over as many entities (one structure, or one map
key, per caller), it prints ops/s and p50/p99 latency of: counter
increment/get, map put/get, map put on new keys (entity creation), set
add/contains, queue enqueue/dequeue, lock acquire+release, semaphore
acquire+release and a barrier round (``arrive(expected=1)``). Beside each:
the ratio to a bare asyncio round trip (one consumer task answering futures
from an ``asyncio.Queue``) and to redis-py ``INCR`` against a local Redis at
the same concurrency. A final table checks the performance targets.
"""

from __future__ import annotations

import uuid
from typing import Any

import common
from common import Op, Result, fmt_rate, fmt_ratio, measure, table

HEADER = ["operation", "ops/s", "p50 ms", "p99 ms", "vs asyncio", "vs redis INCR"]


async def structure_ops(d: Any, callers: int, seconds: float) -> list[tuple[str, Result]]:
    """Measure every structure operation with ``callers`` callers over ``callers`` entities."""
    tag = uuid.uuid4().hex[:6]
    out: list[tuple[str, Result]] = []

    async def run(label: str, make: Any, **kw: Any) -> None:
        out.append((label, await measure(make, callers, seconds, **kw)))

    counters = [d.counter(f"c{tag}{i}", shards=10) for i in range(callers)]
    await run("counter.increment", lambda i: counters[i].increment)
    await run("counter.get", lambda i: counters[i].get)

    m = d.map[str, int](f"m{tag}")
    keys = [f"key-{i}" for i in range(callers)]

    def put(i: int) -> Op:
        key, put_ = keys[i], m.put
        return lambda: put_(key, i)

    def get(i: int) -> Op:
        key, get_ = keys[i], m.get
        return lambda: get_(key)

    await run("map.put", put)
    await run("map.get", get)

    fresh = d.map[str, int](f"n{tag}")

    def put_new(i: int) -> Op:
        counter = iter(range(1 << 62))
        put_ = fresh.put
        return lambda: put_(f"{i}-{next(counter)}", i)

    await run("map.put new key", put_new, warmup=0)

    sets = [d.set[int](f"s{tag}{i}") for i in range(callers)]

    def add(i: int) -> Op:
        counter = iter(range(1 << 62))
        add_ = sets[i].add
        return lambda: add_(next(counter))

    def contains(i: int) -> Op:
        counter = iter(range(1 << 62))
        contains_ = sets[i].contains
        return lambda: contains_(next(counter) % 1000)

    await run("set.add", add)
    await run("set.contains", contains)

    queues = [d.queue[int](f"q{tag}{i}") for i in range(callers)]
    enqueued = [0] * callers

    def enqueue(i: int) -> Op:
        enqueue_ = queues[i].enqueue

        async def op() -> None:
            await enqueue_(i)
            enqueued[i] += 1

        return op

    await run("queue.enqueue", enqueue)
    await run("queue.dequeue", lambda i: queues[i].dequeue, limit=lambda i: enqueued[i], warmup=0)

    locks = [d.lock(f"l{tag}{i}") for i in range(callers)]

    def lock_round(i: int) -> Op:
        lock = locks[i]

        async def op() -> None:
            await lock.acquire()
            await lock.release()

        return op

    await run("lock.acquire+release", lock_round)

    semaphores = [d.semaphore(f"p{tag}{i}", permits=5) for i in range(callers)]

    def semaphore_round(i: int) -> Op:
        sem = semaphores[i]

        async def op() -> None:
            await sem.acquire()
            await sem.release()

        return op

    await run("semaphore.acquire+release", semaphore_round)

    barriers = [d.barrier(f"b{tag}{i}") for i in range(callers)]

    def barrier_round(i: int) -> Op:
        arrive = barriers[i].arrive
        return lambda: arrive(1)

    await run("barrier.arrive round", barrier_round)
    return out


async def main(args: Any) -> None:
    from casty import ActorSystem, Distributed

    seconds = 0.05 if args.quick else args.seconds
    levels = [1, args.callers]
    redis, why_not = await common.redis_client(args.redis_url)
    if redis is None:
        print(f"(no redis INCR column: {why_not})")
    baseline: dict[int, Result] = {}
    redis_base: dict[int, Result | None] = {}
    rows = []
    for callers in levels:
        baseline[callers] = await common.asyncio_roundtrip(callers, seconds)
        redis_base[callers] = await common.redis_incr(redis, callers, seconds) if redis is not None else None
        for label, res in (("asyncio round trip", baseline[callers]), ("redis INCR", redis_base[callers])):
            if res is not None:
                rows.append(
                    [f"{label} x{callers}", fmt_rate(res.rate), f"{res.p50_ms:.3f}", f"{res.p99_ms:.3f}"]
                )
    table("baselines", ["baseline", "ops/s", "p50 ms", "p99 ms"], rows)

    results: dict[tuple[str, int], dict[str, Result]] = {}
    for backend in await common.usable_backends(args):
        for callers in levels:
            async with common.open_journal(backend, args) as journal, ActorSystem() as system:
                d = Distributed(system, journal=journal)
                measured = await structure_ops(d, callers, seconds)
            results[(backend, callers)] = dict(measured)
            base, rbase = baseline[callers], redis_base[callers]
            rows = [
                [
                    label,
                    fmt_rate(res.rate),
                    f"{res.p50_ms:.3f}",
                    f"{res.p99_ms:.3f}",
                    fmt_ratio(res.rate / base.rate),
                    fmt_ratio(res.rate / rbase.rate) if rbase is not None else "-",
                ]
                for label, res in measured
            ]
            plural = "caller" if callers == 1 else f"concurrent callers over {callers} entities"
            table(f"structures: {backend}, {callers} {plural}", HEADER, rows)

    if redis is not None:
        await redis.aclose()
    print_targets(results, baseline, redis_base, args.callers)


def print_targets(
    results: dict[tuple[str, int], dict[str, Result]],
    baseline: dict[int, Result],
    redis_base: dict[int, Result | None],
    many: int,
) -> None:
    rows: list[list[str]] = []

    def check(goal: str, value: float | None, target: float, shown: str) -> None:
        if value is None:
            rows.append([goal, "-", "n/a"])
        else:
            rows.append([goal, shown, "met" if value >= target else "MISSED"])

    one = results.get(("memory", 1))
    conc = results.get(("memory", many))
    if one is not None:
        r = one["counter.increment"].rate / baseline[1].rate
        check("memory, 1 caller: increment >= 35% of asyncio round trip", r, 0.35, fmt_ratio(r))
        r = one["map.put new key"].rate / one["counter.increment"].rate
        check("memory, 1 caller: map put new key >= 25% of increment", r, 0.25, fmt_ratio(r))
    if conc is not None:
        inc = conc["counter.increment"]
        r = inc.rate / baseline[many].rate
        check(f"memory, {many} callers: increment >= 40% of asyncio round trip", r, 0.40, fmt_ratio(r))
        rb = redis_base[many]
        r2 = inc.rate / rb.rate if rb is not None else None
        check(f"memory, {many} callers: increment >= 3x redis INCR", r2, 3.0, fmt_ratio(r2) if r2 else "-")
        check(f"memory, {many} callers: increment p99 < 5 ms", 5.0 - inc.p99_ms, 0.0, f"{inc.p99_ms:.3f} ms")
        r = conc["map.put new key"].rate / inc.rate
        check(f"memory, {many} callers: map put new key >= 25% of increment", r, 0.25, fmt_ratio(r))
    table("targets", ["target", "measured", "status"], rows)


if __name__ == "__main__":
    parser = common.base_parser(__doc__.splitlines()[0])
    common.backends_arg(parser, "memory,sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each measurement")
    parser.add_argument("--callers", type=int, default=100, help="the concurrent level (default 100)")
    cli = parser.parse_args()
    common.run(lambda: main(cli), cli)
