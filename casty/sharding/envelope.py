"""Messages of sharding: the envelope that addresses an entity, and passivation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from casty._fastinit import fast_init

__all__ = ["Passivate", "ShardEnvelope"]

M = TypeVar("M")


@fast_init
@dataclass(frozen=True, slots=True)
class ShardEnvelope(Generic[M]):
    """Deliver ``message`` to the entity ``entity_id`` of a shard region."""

    entity_id: str
    message: M


class _Passivate:
    __slots__ = ()

    def __repr__(self) -> str:
        return "Passivate"


Passivate = _Passivate()
"""Sent by a region to an idle entity: stop now if you have nothing pending.

An entity that still waits for something (a blocked ``acquire``, a timer) may
ignore it. Messages that arrive while it stops are delivered to its next
incarnation, so passivation never loses a message.
"""
