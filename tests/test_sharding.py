from __future__ import annotations

import subprocess
import sys

from casty import ActorSystem, Distributed
from casty.sharding import shard_of


def test_shard_hash_is_stable_across_processes() -> None:
    ids = ["alice", "bob", "ünïcode", "🙂", ""]
    here = [shard_of(i, 100) for i in ids]
    code = f"from casty.sharding import shard_of; print([shard_of(i, 100) for i in {ids!r}])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(here)
    assert all(0 <= s < 100 for s in here)


async def test_idle_entities_are_passivated_and_recover_their_state() -> None:
    async with ActorSystem() as system:
        d = Distributed(system, passivate_after=0.05)
        users = d.map[str, int]("users")
        for i in range(20):
            await users.put(f"k{i}", i)
        region = system._regions["map:users"]
        assert region.live_entities == 20
        while region.live_entities:  # the sweeper passivates idle entities
            await system_tick()
        assert await users.get("k7") == 7  # recovered from the journal
        assert region.passivated >= 20


async def system_tick() -> None:
    import asyncio

    await asyncio.sleep(0.01)


async def test_max_entities_bounds_live_entities() -> None:
    async with ActorSystem() as system:
        d = Distributed(system, passivate_after=None, max_entities=100)
        m = d.map[str, int]("bounded")
        for i in range(1000):
            await m.put(f"k{i}", i)
        region = system._regions["map:bounded"]
        assert region.live_entities <= 110
        assert await m.get("k3") == 3
        assert await m.get("k999") == 999
