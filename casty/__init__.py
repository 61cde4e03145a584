"""casty: typed asyncio actors and durable, event-sourced distributed data structures.

>>> import asyncio
>>> from casty import ActorSystem, Distributed
>>> async def main():
...     async with ActorSystem() as system:
...         d = Distributed(system)
...         await d.counter("hits").increment()
...         return await d.counter("hits").get()
>>> asyncio.run(main())
1
"""

from casty import errors
from casty.actors import ActorRef, ActorSystem, Behavior, Behaviors, SupervisorStrategy
from casty.actors.loop import run
from casty.distributed import Barrier, Counter, Dict, Distributed, Lock, Queue, Semaphore, Set
from casty.persistence import EventJournal, InMemoryJournal, register, serializable
from casty.persistence.effect import Effect
from casty.persistence.entity import EntityType
from casty.sharding import EntityGateway, ShardEnvelope

__version__ = "0.1.0"

__all__ = [
    "ActorRef",
    "ActorSystem",
    "Barrier",
    "Behavior",
    "Behaviors",
    "Counter",
    "Dict",
    "Distributed",
    "Effect",
    "EntityGateway",
    "EntityType",
    "EventJournal",
    "InMemoryJournal",
    "Lock",
    "Queue",
    "Semaphore",
    "Set",
    "ShardEnvelope",
    "SupervisorStrategy",
    "errors",
    "register",
    "run",
    "serializable",
]
