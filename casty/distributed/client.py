"""What every structure client shares: asking its entity with a timeout, validation."""

from __future__ import annotations

import asyncio
import itertools
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from casty.actors.ref import Tellable
from casty.errors import AskTimeout, CastyError, InvalidArgument
from casty.persistence.codec import default_codec
from casty.persistence.runtime import Request
from casty.sharding.envelope import ShardEnvelope
from casty.sharding.gateway import EntityGateway

__all__ = ["StructureClient", "check_int", "check_timeout"]


class StructureClient:
    """Base of the structure clients: one named structure reached through a gateway."""

    __slots__ = ("_gateway", "_ids", "_region", "_value_type", "name", "owner", "timeout")

    def __init__(
        self,
        gateway: EntityGateway,
        region: Tellable[ShardEnvelope[Any]],
        name: str,
        timeout: float,
        *,
        value_type: type | None = None,
    ) -> None:
        self._gateway = gateway
        self._value_type = value_type
        self._region = region
        self.name = name
        self.timeout = check_timeout(timeout)
        self.owner = uuid.uuid4().hex
        """Unique id of this client instance (the owner of its locks and permits)."""
        self._ids = itertools.count(1)

    def _checked(self, value: Any, what: str) -> Any:
        """``value`` if it has the structure's value type and can be serialized."""
        check_value(value, self._value_type, what)
        return value

    def _request_id(self) -> str:
        return f"{self.owner}:{next(self._ids)}"

    def _ask(self, entity_id: str, command: Any, timeout: float | None = None) -> Awaitable[Any]:
        # A plain function returning the gateway's awaitable: one coroutine less per call.
        return self._gateway.ask(
            self._region,
            lambda reply_to: ShardEnvelope(entity_id, Request(command, reply_to)),
            timeout=self.timeout if timeout is None else timeout,
        )

    async def _ask_parked(self, command: Any, timeout: float, withdraw: Callable[[], Any]) -> Any:
        """Ask for something the entity may make the caller wait for (``acquire``, ``take``, ``arrive``).

        If the caller gives up first — its own timeout or a cancelled task —
        the command ``withdraw()`` is sent (without waiting), so the entity
        forgets the waiter at once instead of at its deadline, and gives back
        anything it granted to it.
        """
        try:
            return await self._ask(self.name, command, timeout=timeout)
        except (asyncio.CancelledError, AskTimeout):
            try:
                self._region.tell(ShardEnvelope(self.name, Request(withdraw())))
            except CastyError:
                pass  # system shutting down: the entity's deadline cleans up
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def check_timeout(timeout: object, what: str = "timeout") -> float:
    """A positive, finite number of seconds."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not (timeout > 0 and math.isfinite(timeout))
    ):
        raise InvalidArgument(f"{what} must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def check_int(value: object, what: str) -> int:
    """An ``int`` (``bool`` is refused)."""
    if type(value) is not int:
        raise InvalidArgument(f"{what} must be an int, got {type(value).__name__} {value!r}")
    return value


def check_value(value: object, expected: type | None, what: str) -> None:
    """Refuse values of the wrong type or that cannot be serialized, before sending them."""
    if expected is not None and (
        not isinstance(value, expected) or (type(value) is bool and expected is int)
    ):
        raise InvalidArgument(
            f"{what} must be {expected.__name__}, got {type(value).__name__} {value!r}"[:300]
        )
    default_codec.check(value)
