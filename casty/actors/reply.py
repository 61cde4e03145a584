"""Reply targets: where the answer to an ``ask`` goes.

An ask does not create a temporary actor: the reply target is a thin wrapper
around one future, so asking costs one future and one timer.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

__all__ = ["ReplyTo"]

R = TypeVar("R")


class ReplyTo(Generic[R]):
    """Completes one pending ``ask``. Extra or late replies are ignored."""

    __slots__ = ("_future",)

    def __init__(self, future: asyncio.Future[R]) -> None:
        self._future = future

    def succeed(self, value: R) -> None:
        """Deliver the answer."""
        if not self._future.done():
            self._future.set_result(value)

    def fail(self, error: BaseException) -> None:
        """Make the asker's ``await`` raise ``error``."""
        if not self._future.done():
            self._future.set_exception(error)

    @property
    def is_waiting(self) -> bool:
        """``False`` once the asker has its answer or gave up (timed out)."""
        return not self._future.done()
