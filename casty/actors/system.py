"""``ActorSystem``: starts actors and owns them until it shuts down."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from casty.actors.behavior import Behavior
from casty.actors.cell import Cell
from casty.actors.ref import ActorRef, Tellable, ask
from casty.actors.reply import ReplyTo
from casty.errors import ActorStopped, InvalidArgument

if TYPE_CHECKING:
    from casty.sharding.region import ShardRegion

__all__ = ["ActorSystem"]

M = TypeVar("M")
R = TypeVar("R")


class ActorSystem:
    """A set of actors in one process; use it as an async context manager.

        >>> import asyncio
        >>> async def main():
        ...     async with ActorSystem("demo") as system:
        ...         return system.name
        >>> asyncio.run(main())
        'demo'

    It is also an *entity gateway*: :meth:`shard_region` gives the sharded
    entities of this node, which is what :class:`casty.Distributed` needs.
    """

    def __init__(self, name: str = "casty", *, mailbox_capacity: int = 100_000) -> None:
        if mailbox_capacity < 1:
            raise InvalidArgument("mailbox_capacity must be at least 1")
        self.name = name
        self.mailbox_capacity = mailbox_capacity
        self._cells: dict[Cell[Any], None] = {}
        self._names = itertools.count(1)
        self._regions: dict[str, ShardRegion[Any]] = {}
        self._shutting_down = False
        self._inline_depth = 0  # actors handling a message immediately on the current call stack
        self._closed = False

    async def __aenter__(self) -> ActorSystem:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()

    @property
    def is_shutting_down(self) -> bool:
        """``True`` once :meth:`shutdown` has begun."""
        return self._shutting_down

    def spawn(
        self,
        behavior: Behavior[M],
        name: str | None = None,
        *,
        mailbox_capacity: int | None = None,
        on_stop: Callable[[Cell[M], list[M]], None] | None = None,
    ) -> ActorRef[M]:
        """Start an actor running ``behavior`` and return its reference.

        ``on_stop(cell, unhandled_messages)`` is called once when it stops.
        """
        if self._shutting_down:
            raise ActorStopped(f"actor system {self.name!r} is shut down")
        if not isinstance(behavior, Behavior):
            raise InvalidArgument(f"spawn needs a Behavior, got {type(behavior).__name__}")
        cell: Cell[M] = Cell(
            self,
            name or f"actor-{next(self._names)}",
            behavior,
            mailbox_capacity or self.mailbox_capacity,
            on_stop,
        )
        self._cells[cell] = None
        cell.start()
        return cell.ref

    def _cell_stopped(self, cell: Cell[Any]) -> None:
        self._cells.pop(cell, None)

    def stop(self, ref: ActorRef[Any]) -> None:
        """Stop an actor now."""
        ref._cell.stop()

    def ask(
        self, target: Tellable[M], build: Callable[[ReplyTo[R]], M], *, timeout: float
    ) -> Coroutine[Any, Any, R]:
        """Ask ``target``; await the result for the reply (see :func:`casty.actors.ask`)."""
        return ask(target, build, timeout=timeout)

    async def drain(self, ref: ActorRef[Any]) -> None:
        """Wait until ``ref`` has handled every message queued so far (for tests and demos)."""
        cell = ref._cell
        while (cell.mailbox or not cell.is_idle) and not cell.stopped:
            await asyncio.sleep(0)

    def shard_region(
        self,
        type_name: str,
        entity_factory: Callable[[str], Behavior[Any]],
        *,
        shards: int,
        passivate_after: float | None = 60.0,
        max_entities: int | None = 50_000,
    ) -> ShardRegion[Any]:
        """The region hosting entities of ``type_name`` on this node, started on first use.

        Same name, same region: later calls return the running one.
        """
        region = self._regions.get(type_name)
        if region is None:
            from casty.sharding.region import ShardRegion

            region = ShardRegion(
                self,
                type_name,
                entity_factory,
                shards=shards,
                passivate_after=passivate_after,
                max_entities=max_entities,
            )
            self._regions[type_name] = region
        return region

    @property
    def live_actors(self) -> int:
        """How many actors are running."""
        return len(self._cells)

    async def shutdown(self) -> None:
        """Stop every actor and wait for them to finish. Idempotent."""
        if self._closed:
            return
        self._shutting_down = True
        for region in self._regions.values():
            region.close()
        cells = list(self._cells)
        tasks = [c.task for c in cells if c.task is not None]
        for c in cells:
            c.stop()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._closed = True
