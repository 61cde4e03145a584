"""``ActorRef``: the typed address of an actor, with ``tell`` and ``ask``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from casty.actors.reply import ReplyTo
from casty.errors import AskTimeout, InvalidArgument

if TYPE_CHECKING:
    from casty.actors.cell import Cell

__all__ = ["ActorRef", "ask"]

M = TypeVar("M")
R = TypeVar("R")


class Tellable(Generic[M]):
    """Anything messages of type ``M`` can be sent to."""

    __slots__ = ()

    def tell(self, message: M) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ActorRef(Tellable[M]):
    """Send messages of type ``M`` to one actor.

    ``tell`` never waits: it puts the message in the actor's bounded mailbox
    (raising :class:`~casty.errors.MailboxFull` or
    :class:`~casty.errors.ActorStopped` if it cannot).
    """

    __slots__ = ("_cell",)

    def __init__(self, cell: Cell[M]) -> None:
        self._cell = cell

    @property
    def name(self) -> str:
        """The actor's name."""
        return self._cell.name

    @property
    def is_alive(self) -> bool:
        """``True`` until the actor has stopped."""
        return not self._cell.stopped

    def tell(self, message: M) -> None:
        """Send ``message`` without waiting for anything."""
        self._cell.enqueue(message)

    async def ask(self, build: Callable[[ReplyTo[R]], M], *, timeout: float) -> R:
        """Send ``build(reply_to)`` and wait for the reply (see :func:`ask`)."""
        return await ask(self, build, timeout=timeout)

    def __repr__(self) -> str:
        return f"ActorRef({self._cell.name!r})"


async def ask(target: Tellable[M], build: Callable[[ReplyTo[R]], M], *, timeout: float) -> R:
    """Send ``build(reply_to)`` to ``target`` and wait for the reply.

    Raises :class:`~casty.errors.AskTimeout` if no reply arrives within
    ``timeout`` seconds; an error sent with ``reply_to.fail`` is raised as is.

        >>> import asyncio
        >>> from casty.actors import ActorSystem, Behaviors
        >>> async def echo(ctx, msg):
        ...     text, reply_to = msg
        ...     reply_to.succeed(text.upper())
        ...     return Behaviors.same
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         ref = system.spawn(Behaviors.receive(echo))
        ...         return await ask(ref, lambda r: ("hi", r), timeout=1.0)
        >>> asyncio.run(main())
        'HI'
    """
    if not (timeout > 0):
        raise InvalidArgument(f"timeout must be a positive number of seconds, got {timeout!r}")
    loop = asyncio.get_running_loop()
    future: asyncio.Future[R] = loop.create_future()
    target.tell(build(ReplyTo(future)))
    if future.done():
        return future.result()
    handle = loop.call_later(timeout, _expire, future, timeout)
    try:
        return await future
    finally:
        handle.cancel()


def _expire(future: asyncio.Future[Any], timeout: float) -> None:
    if not future.done():
        future.set_exception(AskTimeout(f"no reply within {timeout:g}s"))
