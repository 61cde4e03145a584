"""``ActorContext``: what a running actor may do besides handling its message."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from casty.actors.cell import Cell
    from casty.actors.ref import ActorRef
    from casty.actors.system import ActorSystem

__all__ = ["ActorContext"]

M = TypeVar("M")


class ActorContext(Generic[M]):
    """Given to every handler: the actor's own ref, its system, timers, its mailbox."""

    __slots__ = ("_cell",)

    def __init__(self, cell: Cell[M]) -> None:
        self._cell = cell

    @property
    def log(self) -> logging.Logger:
        """The logger ``casty.actor.<name>`` (made on first use: loggers live forever)."""
        return logging.getLogger(f"casty.actor.{self._cell.name}")

    @property
    def self(self) -> ActorRef[M]:
        """This actor's own reference."""
        return self._cell.ref

    @property
    def name(self) -> str:
        """This actor's name."""
        return self._cell.name

    @property
    def system(self) -> ActorSystem:
        """The system the actor runs in."""
        return self._cell.system

    def schedule_once(self, delay: float, message: M) -> asyncio.TimerHandle:
        """Send ``message`` to this actor after ``delay`` seconds; cancel via the handle."""
        return asyncio.get_running_loop().call_later(delay, self._cell.deliver_timer, message)

    def send_to_self(self, message: M) -> None:
        """Enqueue ``message`` for this actor; dropped (with a warning) if it stopped or is full."""
        self._cell.deliver_timer(message)

    def drain(self, max_messages: int) -> list[M]:
        """Take up to ``max_messages`` already queued messages without waiting.

        Lets an actor handle a burst in one go (the entity runtime commits a
        whole burst of commands in one journal write).
        """
        return self._cell.take_queued(max_messages)

    @property
    def queued(self) -> int:
        """How many messages wait in the mailbox."""
        mailbox = self._cell.mailbox
        return len(mailbox) if mailbox is not None else 0

    def spawn(self, behavior: Any, name: str | None = None) -> ActorRef[Any]:
        """Start another actor in the same system."""
        return self._cell.system.spawn(behavior, name)
