"""``ActorRef``: the typed address of an actor, with ``tell`` and ``ask``."""

from __future__ import annotations

import asyncio
import types
import weakref
from collections import deque
from collections.abc import Callable, Generator
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
    if future.done():  # answered immediately (see Cell.enqueue)
        global _budget
        _budget -= 1
        if _budget <= 0:  # a caller that is always answered at once still lets others run
            _budget = IMMEDIATE_BUDGET
            await _yield_once()
        return future.result()
    _deadlines(loop).add(future, timeout)
    return await future


IMMEDIATE_BUDGET = 2
"""Asks answered at once (in-memory entities) between two turns given to the event loop.

Like a cooperative budget: not yielding on every such ask saves a trip
through the event loop, and yielding every few asks keeps a loop of them
from starving other tasks (a polling loop cannot hang the program).
"""
_budget = IMMEDIATE_BUDGET


@types.coroutine
def _yield_once() -> Generator[None, None, None]:
    """Give the event loop one turn (what ``asyncio.sleep(0)`` does, minus its checks)."""
    yield


class _Bucket:
    """Pending asks that share one timeout value, in deadline order.

    Asks with the same timeout expire in the order they were made, so one
    timer (armed for the oldest pending ask) serves them all: asking costs a
    deque append instead of a timer handle per call. Answered asks are
    dropped lazily from the front, and the deque is compacted when answered
    asks pile up behind a slow one.
    """

    __slots__ = ("compact_at", "entries", "owner", "timeout", "timer")

    def __init__(self, owner: _Deadlines, timeout: float) -> None:
        self.owner = owner
        self.timeout = timeout
        self.entries: deque[tuple[float, asyncio.Future[Any]]] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.compact_at = 1024

    def add(self, future: asyncio.Future[Any]) -> None:
        entries = self.entries
        while entries and entries[0][1].done():
            entries.popleft()
        loop = self.owner.loop
        entries.append((loop.time() + self.timeout, future))
        if len(entries) >= self.compact_at:
            self.entries = entries = deque(e for e in entries if not e[1].done())
            self.compact_at = max(1024, 2 * len(entries))
        if self.timer is None:
            self.timer = loop.call_at(entries[0][0], self.fire)

    def fire(self) -> None:
        self.timer = None
        entries = self.entries
        now = self.owner.loop.time()
        while entries:
            deadline, future = entries[0]
            if not future.done():
                if deadline > now:
                    break
                future.set_exception(AskTimeout(f"no reply within {self.timeout:g}s"))
            entries.popleft()
        if entries:
            self.timer = self.owner.loop.call_at(entries[0][0], self.fire)
        else:
            del self.owner.buckets[self.timeout]


class _Deadlines:
    """The ask timeouts of one event loop."""

    __slots__ = ("__weakref__", "buckets", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.buckets: dict[float, _Bucket] = {}

    def add(self, future: asyncio.Future[Any], timeout: float) -> None:
        bucket = self.buckets.get(timeout)
        if bucket is None:
            bucket = self.buckets[timeout] = _Bucket(self, timeout)
        bucket.add(future)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Deadlines] = weakref.WeakKeyDictionary()
_last: tuple[asyncio.AbstractEventLoop | None, _Deadlines | None] = (None, None)


def _deadlines(loop: asyncio.AbstractEventLoop) -> _Deadlines:
    global _last
    last = _last
    if last[0] is loop:
        return last[1]  # type: ignore[return-value]
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = _Deadlines(loop)
    _last = (loop, found)
    return found
