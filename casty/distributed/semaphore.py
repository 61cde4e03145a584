"""Semaphore (and Lock, its one-permit case): FIFO permits with leases and fencing tokens.

One reducer serves both :class:`Semaphore` and :class:`casty.Lock`. Each grant
carries a *fencing token* that grows with every grant, so a resource can
refuse a stale holder. A holder may take a *lease*: if it is not released or
extended in time the permit returns by itself (a crashed process cannot hold
it forever). Waiters are served first come, first served; a waiter whose
caller gave up is skipped, and a permit granted to a caller that is gone is
given back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple

from casty.actors.ref import Tellable
from casty.distributed.client import StructureClient, check_timeout
from casty.errors import AskTimeout, InvalidArgument
from casty.persistence.codec import serializable
from casty.persistence.effect import Effect, Failure
from casty.persistence.entity import EntityType
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["PERMITS", "Holder", "PermitState", "Semaphore", "Waiter"]


@serializable("casty.permits.Holder")
@dataclass(frozen=True, slots=True)
class Holder:
    owner: str
    request_id: str
    expires_at: float | None


@serializable("casty.permits.Waiter")
@dataclass(frozen=True, slots=True)
class Waiter:
    owner: str
    deadline: float
    lease: float | None


@serializable("casty.permits.State")
@dataclass(slots=True)
class PermitState:
    """``holders`` by fencing token; ``waiters`` by request id, in arrival order."""

    permits: int = 0
    holders: dict[int, Holder] = field(default_factory=dict)
    waiters: dict[str, Waiter] = field(default_factory=dict)
    next_token: int = 1


# -- commands -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Acquire:
    owner: str
    request_id: str
    permits: int
    now: float
    deadline: float | None  # None: do not wait (try_acquire)
    lease: float | None


@dataclass(frozen=True, slots=True)
class Release:
    owner: str
    now: float


@dataclass(frozen=True, slots=True)
class Extend:
    owner: str
    lease: float
    now: float


@dataclass(frozen=True, slots=True)
class Cancel:
    request_id: str
    now: float


@dataclass(frozen=True, slots=True)
class Status:
    now: float
    permits: int


@dataclass(frozen=True, slots=True)
class Tick:
    now: float


@dataclass(frozen=True, slots=True)
class PermitStatus:
    """A point-in-time view: permits, holders' owner ids, number of waiters."""

    permits: int
    available: int
    holders: tuple[str, ...]
    waiting: int


# -- events ---------------------------------------------------------------------
@serializable("casty.permits.Configured")
@dataclass(frozen=True, slots=True)
class Configured:
    permits: int


@serializable("casty.permits.Granted")
@dataclass(frozen=True, slots=True)
class Granted:
    token: int
    owner: str
    request_id: str
    expires_at: float | None


@serializable("casty.permits.Released")
@dataclass(frozen=True, slots=True)
class Released:
    token: int
    reason: str = "released"  # "released" | "expired" | "abandoned"


@serializable("casty.permits.Queued")
@dataclass(frozen=True, slots=True)
class Queued:
    request_id: str
    owner: str
    deadline: float
    lease: float | None


@serializable("casty.permits.WaiterLeft")
@dataclass(frozen=True, slots=True)
class WaiterLeft:
    request_id: str


@serializable("casty.permits.LeaseExtended")
@dataclass(frozen=True, slots=True)
class LeaseExtended:
    token: int
    expires_at: float


PermitEvent = Configured | Granted | Released | Queued | WaiterLeft | LeaseExtended


class _Settled(NamedTuple):
    effect: Effect[PermitEvent]
    free: int
    """Permits still free afterwards."""
    waiting: int
    """Waiters still waiting afterwards."""
    next_token: int
    """The fencing token of the next grant."""


def _settle(
    state: PermitState, now: float, released: Iterable[int] = (), *, left: str | None = None
) -> _Settled:
    """Expire leases and deadlines, then grant free permits to waiters in FIFO order."""
    gone = set(released)
    events: list[PermitEvent] = [Released(t) for t in released]
    for token, holder in state.holders.items():
        if token not in gone and holder.expires_at is not None and holder.expires_at <= now:
            events.append(Released(token, "expired"))
            gone.add(token)
    effect: Effect[PermitEvent] = Effect(tuple(events))
    free = state.permits - len(state.holders) + len(gone)
    token = state.next_token
    waiting = 0
    for rid, waiter in state.waiters.items():
        if rid == left:
            continue
        if waiter.deadline <= now:
            effect = effect.also(Effect.persist(WaiterLeft(rid))).and_notify(
                rid, Failure(AskTimeout("no permit became free before the deadline"))
            )
        elif free > 0 and waiting == 0:
            expires = None if waiter.lease is None else now + waiter.lease
            effect = effect.also(Effect.persist(Granted(token, waiter.owner, rid, expires))).and_notify(
                rid, token
            )
            token += 1
            free -= 1
        else:
            waiting += 1
    return _Settled(effect, free, waiting, token)


def _decide(state: PermitState, command: object) -> Effect[PermitEvent]:
    match command:
        case Acquire():
            return _acquire(state, command)
        case Release(owner, now):
            owned = [t for t, h in state.holders.items() if h.owner == owner]
            return _settle(state, now, owned[:1]).effect.then_reply(bool(owned))
        case Extend(owner, lease, now):
            owned = [
                t
                for t, h in state.holders.items()
                if h.owner == owner and (h.expires_at is None or h.expires_at > now)
            ]
            if not owned:
                return Effect.reply(False)
            return Effect.persist(*(LeaseExtended(t, now + lease) for t in owned)).then_reply(True)
        case Cancel(rid, now):
            if rid in state.waiters:
                return Effect.persist(WaiterLeft(rid)).also(_settle(state, now, left=rid).effect)
            held = [t for t, h in state.holders.items() if h.request_id == rid]
            return _settle(state, now, held).effect if held else Effect.none()
        case Tick(now):
            return _settle(state, now).effect
        case Status(now, permits):
            if state.permits == 0:  # never acquired: all of the client's permits are free
                return Effect.reply(PermitStatus(permits, permits, (), 0))
            effect, free, waiting, _ = _settle(state, now)
            expired = {e.token for e in effect.events if isinstance(e, Released)}
            granted = {e.request_id for e in effect.events if isinstance(e, Granted)}
            holders = tuple(h.owner for t, h in state.holders.items() if t not in expired) + tuple(
                w.owner for r, w in state.waiters.items() if r in granted
            )
            return effect.then_reply(PermitStatus(state.permits, free, holders, waiting))
    raise TypeError(f"unknown semaphore command {command!r}")


def _acquire(state: PermitState, command: Acquire) -> Effect[PermitEvent]:
    configure: Effect[PermitEvent] = Effect()
    if state.permits == 0:
        configure = Effect.persist(Configured(command.permits))
        state_permits = command.permits
    elif state.permits != command.permits:
        return Effect.fail(
            InvalidArgument(
                f"this semaphore has {state.permits} permits; it was asked for with {command.permits}"
            )
        )
    else:
        state_permits = state.permits
    settled = _settle(state, command.now)
    free = settled.free + state_permits - state.permits
    effect = configure.also(settled.effect)
    if free > 0 and settled.waiting == 0:
        expires = None if command.lease is None else command.now + command.lease
        grant = Granted(settled.next_token, command.owner, command.request_id, expires)
        return effect.also(Effect.persist(grant)).then_reply(grant.token)
    if command.deadline is None:
        return effect.then_reply(None)
    queued = Queued(command.request_id, command.owner, command.deadline, command.lease)
    return effect.also(Effect.persist(queued)).then_park(command.request_id)


def _evolve(state: PermitState, event: PermitEvent) -> PermitState:
    match event:
        case Granted(token, owner, request_id, expires_at):
            state.holders[token] = Holder(owner, request_id, expires_at)
            state.waiters.pop(request_id, None)
            state.next_token = token + 1
        case Released(token):
            state.holders.pop(token, None)
        case Queued(request_id, owner, deadline, lease):
            state.waiters[request_id] = Waiter(owner, deadline, lease)
        case WaiterLeft(request_id):
            state.waiters.pop(request_id, None)
        case LeaseExtended(token, expires_at):
            old = state.holders.get(token)
            if old is not None:
                state.holders[token] = Holder(old.owner, old.request_id, expires_at)
        case Configured(permits):
            state.permits = permits
    return state


def _wakeup(state: PermitState) -> float | None:
    times = [h.expires_at for h in state.holders.values() if h.expires_at is not None]
    times.extend(w.deadline for w in state.waiters.values())
    return min(times) if times else None


PERMITS: EntityType[PermitState, object, PermitEvent] = EntityType(
    name="semaphore",
    initial=PermitState,
    decide=_decide,
    evolve=_evolve,
    snapshot_every=200,
    wakeup=_wakeup,
    tick=Tick,
    abandon=lambda request_id, token, now: Cancel(request_id, now),
)
"""The permits reducer shared by Lock (1 permit) and Semaphore (N permits)."""


def check_lease(lease: object) -> float | None:
    """``None`` (held until released) or a positive number of seconds."""
    return None if lease is None else check_timeout(lease, "lease")


class PermitClient(StructureClient):
    """Acquire/release of permits; the base of :class:`Semaphore` and :class:`casty.Lock`."""

    __slots__ = ("_lease", "_permits", "token")

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        permits: int,
        lease: float | None = None,
    ) -> None:
        super().__init__(gateway, region, name, timeout)
        if type(permits) is not int or permits < 1:
            raise InvalidArgument(f"permits must be a positive int, got {permits!r}")
        self._permits = permits
        self._lease = check_lease(lease)
        self.token: int | None = None
        """Fencing token of the latest permit this client acquired."""

    async def acquire(self, timeout: float | None = None, *, lease: float | None = None) -> int:
        """Wait for a permit (FIFO) up to ``timeout`` seconds; return its fencing token.

        ``lease`` (default: the one given at creation, else none) makes the
        permit return by itself after that many seconds unless released or
        extended. Raises :class:`~casty.errors.AskTimeout` if none came in time.
        """
        wait = self.timeout if timeout is None else check_timeout(timeout)
        lease_s = self._lease if lease is None else check_lease(lease)
        now = time.time()
        rid = self._request_id()
        command = Acquire(self.owner, rid, self._permits, now, now + wait, lease_s)
        token: int = await self._ask_parked(command, wait + 1.0, lambda: Cancel(rid, time.time()))
        self.token = token
        return token

    async def try_acquire(self, *, lease: float | None = None) -> bool:
        """Take a permit only if one is free now; ``True`` if taken."""
        lease_s = self._lease if lease is None else check_lease(lease)
        command = Acquire(self.owner, self._request_id(), self._permits, time.time(), None, lease_s)
        token: int | None = await self._ask(self.name, command)
        if token is not None:
            self.token = token
        return token is not None

    async def release(self) -> bool:
        """Give back one permit held by this client; ``False`` if it holds none."""
        return await self._ask(self.name, Release(self.owner, time.time()))  # type: ignore[no-any-return]

    async def extend(self, lease: float) -> bool:
        """Renew the lease of this client's permits to ``lease`` seconds from now."""
        command = Extend(self.owner, check_timeout(lease, "lease"), time.time())
        return await self._ask(self.name, command)  # type: ignore[no-any-return]

    async def status(self) -> PermitStatus:
        """Permits, how many are free, who holds them, how many wait."""
        return await self._ask(self.name, Status(time.time(), self._permits))  # type: ignore[no-any-return]

    async def __aenter__(self) -> int:
        return await self.acquire()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()


class Semaphore(PermitClient):
    """A distributed counting semaphore: at most ``permits`` holders at once.

        >>> import asyncio
        >>> from casty import ActorSystem, Distributed
        >>> async def main():
        ...     async with ActorSystem() as system:
        ...         d = Distributed(system)
        ...         a, b = d.semaphore("db", permits=1), d.semaphore("db", permits=1)
        ...         async with a:
        ...             busy = await b.try_acquire()
        ...         return busy, await b.try_acquire(), await a.release(), await b.release()
        >>> asyncio.run(main())
        (False, True, False, True)

    Every client instance is its own owner: only it can release what it
    acquired. Use it as ``async with sem:``.
    """

    __slots__ = ()

    @property
    def permits(self) -> int:
        """The number of permits."""
        return self._permits
