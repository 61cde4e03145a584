"""Typed exceptions raised by casty.

Every failure a caller can meet is a subclass of :class:`CastyError`, so one
``except casty.errors.CastyError`` catches them all, while the specific classes
let callers react precisely::

    >>> from casty.errors import AskTimeout, CastyError
    >>> issubclass(AskTimeout, CastyError) and issubclass(AskTimeout, TimeoutError)
    True
"""

from __future__ import annotations


class CastyError(Exception):
    """Base class of every error raised by casty."""


class AskTimeout(CastyError, TimeoutError):
    """An ``ask`` (and so any structure operation) got no reply in time."""


class InvalidArgument(CastyError, ValueError):
    """An argument has the wrong type or value; nothing was changed."""


class SerializationError(CastyError, TypeError):
    """A value cannot be encoded (or decoded) by the casty codec."""


class ActorStopped(CastyError):
    """The target actor (or the whole system) has stopped."""


class MailboxFull(CastyError):
    """An actor's bounded mailbox is full; the message was not accepted."""


class EntityFailure(CastyError):
    """An entity's own code raised while handling a command.

    The entity is restarted (its state recovered from the journal) and keeps
    serving other commands.
    """


class JournalError(CastyError):
    """The event journal could not complete an operation."""


class ConcurrencyConflict(JournalError):
    """Another writer appended to the same entity first.

    Raised by ``EventJournal.append`` when ``expected_sequence_nr`` is not the
    entity's current highest sequence number. Nothing of the failed append is
    stored.
    """

    def __init__(self, persistence_id: str, expected: int, actual: int | None = None) -> None:
        self.persistence_id = persistence_id
        self.expected = expected
        self.actual = actual
        found = "" if actual is None else f", found {actual}"
        super().__init__(
            f"concurrent write to {persistence_id!r}: expected sequence number {expected}{found}"
        )


class DecodeError(JournalError, SerializationError):
    """A stored event or snapshot cannot be decoded.

    Names the persistence id and sequence number of the bad row.
    """

    def __init__(self, persistence_id: str, sequence_nr: int, reason: str) -> None:
        self.persistence_id = persistence_id
        self.sequence_nr = sequence_nr
        self.reason = reason
        super().__init__(f"cannot decode {persistence_id!r} at sequence number {sequence_nr}: {reason}")


class SchemaError(JournalError):
    """The journal's database schema is missing or at an older revision."""


class JournalUnavailable(JournalError):
    """The journal's database cannot be reached or opened."""


class BrokenBarrier(CastyError):
    """A barrier round was broken (a party timed out) before it completed."""


class NotOwner(CastyError):
    """An operation needs a lock/permit that the caller does not hold."""
