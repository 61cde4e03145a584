"""``EntityGateway``: what the distributed structures need from a node or client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from casty.actors.behavior import Behavior
from casty.actors.ref import Tellable
from casty.actors.reply import ReplyTo
from casty.sharding.envelope import ShardEnvelope

__all__ = ["EntityGateway"]

M = TypeVar("M")
R = TypeVar("R")


@runtime_checkable
class EntityGateway(Protocol):
    """Reaches sharded entities: ``ActorSystem`` (one node) satisfies it structurally.

    ``shard_region`` returns where to send :class:`ShardEnvelope` messages for
    an entity type (starting the local region on first use); ``ask`` sends and
    waits for the reply within ``timeout`` seconds.
    """

    def shard_region(
        self,
        type_name: str,
        entity_factory: Callable[[str], Behavior[Any]],
        *,
        shards: int,
        passivate_after: float | None = ...,
        max_entities: int | None = ...,
    ) -> Tellable[ShardEnvelope[Any]]: ...

    async def ask(self, target: Tellable[M], build: Callable[[ReplyTo[R]], M], *, timeout: float) -> R: ...
