"""Typed actors: behaviors as values, ``ActorSystem``, ``ActorRef`` with ``tell``/``ask``."""

from casty.actors.behavior import Behavior, Behaviors, SupervisorStrategy
from casty.actors.context import ActorContext
from casty.actors.ref import ActorRef, Tellable, ask
from casty.actors.reply import ReplyTo
from casty.actors.system import ActorSystem

__all__ = [
    "ActorContext",
    "ActorRef",
    "ActorSystem",
    "Behavior",
    "Behaviors",
    "ReplyTo",
    "SupervisorStrategy",
    "Tellable",
    "ask",
]
