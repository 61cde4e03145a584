"""Acknowledged writes survive a fresh process and a ``kill -9`` mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from casty import ActorSystem, Distributed

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from casty import ActorSystem, Distributed
    from casty_journal_sql import SqlJournal

    async def main(url, n):
        journal = SqlJournal(url)
        async with ActorSystem() as system:
            d = Distributed(system, journal=journal)
            hits, seen = d.counter("hits"), d.set[int]("seen")
            for i in range(n):
                value = await hits.increment()
                await seen.add(i)
                print(value, flush=True)   # printed only after both writes were acknowledged
        await journal.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def run_writer(url: str, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(n)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )


async def read_back(url: str) -> tuple[int, int]:
    from casty_journal_sql import SqlJournal

    journal = SqlJournal(url)
    async with ActorSystem() as system:
        d = Distributed(system, journal=journal)
        result = await d.counter("hits").get(), await d.set[int]("seen").size()
    await journal.close()
    return result


async def test_state_written_by_another_process_is_recovered(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    proc = run_writer(url, 300)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert out.split()[-1] == "300"
    assert await read_back(url) == (300, 300)


async def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    proc = run_writer(url, 1_000_000)
    assert proc.stdout is not None
    acknowledged = 0
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    hits, seen = await read_back(url)
    assert hits >= acknowledged  # every acknowledged increment is there
    assert seen >= acknowledged - 1
    assert hits - seen in (0, 1)  # at most the one in-flight pair differs
