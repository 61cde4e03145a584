"""Lock: a distributed mutual-exclusion lock (the one-permit case of the permits reducer)."""

from __future__ import annotations

from typing import Any

from casty.actors.ref import Tellable
from casty.distributed.semaphore import PermitClient
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["Lock"]


class Lock(PermitClient):
    """A distributed lock with FIFO waiters, optional leases and fencing tokens.

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         d = Distributed(system)
        ...         mine, theirs = d.lock("deploy"), d.lock("deploy")
        ...         async with mine:
        ...             held = await theirs.try_acquire(), await theirs.release()
        ...         return held, await mine.locked()
        >>> asyncio.run(main())
        ((False, False), False)

    Each client instance has its own owner id; only the owner can release
    (``release()`` by anyone else returns ``False``). Not reentrant: acquiring
    twice from the same client waits for itself. ``acquire`` returns a fencing
    token that grows with every grant.
    """

    __slots__ = ()

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        lease: float | None = None,
    ) -> None:
        super().__init__(gateway, region, name, timeout, permits=1, lease=lease)

    async def locked(self) -> bool:
        """``True`` if anyone holds the lock now."""
        return (await self.status()).available == 0

    async def held_by_me(self) -> bool:
        """``True`` if this client holds the lock now."""
        return self.owner in (await self.status()).holders
