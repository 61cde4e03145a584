"""Event sourcing: typed events, the ``EventJournal`` protocol, the entity runtime, the codec."""

from casty.persistence.codec import Codec, default_codec, register, serializable
from casty.persistence.journal import EventJournal, PersistedEvent, Snapshot
from casty.persistence.memory import InMemoryJournal

__all__ = [
    "Codec",
    "EventJournal",
    "InMemoryJournal",
    "PersistedEvent",
    "Snapshot",
    "default_codec",
    "register",
    "serializable",
]
