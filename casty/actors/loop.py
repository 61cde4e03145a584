"""Running a casty program: ``casty.run(main())`` with uvloop when it is installed.

uvloop is optional (``pip install 'casty[fast]'``); nothing in casty needs it.
``casty.run`` is ``asyncio.run`` that picks uvloop's faster event loop when
available (pass ``use_uvloop=False`` to keep the standard one)::

    >>> import casty
    >>> async def main():
    ...     async with casty.ActorSystem() as system:
    ...         return await casty.Distributed(system).counter("hits").increment()
    >>> casty.run(main(), use_uvloop=False)
    1

Calling ``uvloop.install()`` (or ``asyncio.run(main(), loop_factory=uvloop.new_event_loop)``
on Python 3.12+) before ``asyncio.run`` has the same effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run", "uvloop_available"]

T = TypeVar("T")


def uvloop_available() -> bool:
    """``True`` if the optional ``uvloop`` package can be imported."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool | None = None, debug: bool | None = None) -> T:
    """Run ``main`` to completion on a new event loop and return its result.

    ``use_uvloop``: ``None`` (default) uses uvloop if it is installed, ``True``
    requires it (``ImportError`` otherwise), ``False`` never uses it.
    """
    if use_uvloop is None:
        use_uvloop = uvloop_available()
    if not use_uvloop:
        return asyncio.run(main, debug=debug)
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop, debug=debug) as runner:
        return runner.run(main)
