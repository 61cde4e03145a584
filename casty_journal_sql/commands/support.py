"""Helpers shared by the inspection and transfer subcommands of ``casty-journal``.

Consoles (tables on stdout, progress and notes on stderr), the progress bar,
time and size formatting, the ``--prefix``/``--type``/``--import`` options,
and running a coroutine from a (synchronous) Typer command.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import importlib
import os
import sys
from collections.abc import Coroutine
from enum import StrEnum
from types import TracebackType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from casty.errors import InvalidArgument

__all__ = [
    "ImportOption",
    "KindOption",
    "PrefixOption",
    "ProgressBar",
    "StructureKind",
    "err_console",
    "human_bytes",
    "import_modules",
    "iso_time",
    "note",
    "out_console",
    "plural",
    "resolve_prefix",
    "run",
    "short",
]

T = TypeVar("T")


class StructureKind(StrEnum):
    """The kinds of the built-in structures (the first part of their persistence ids)."""

    counter = "counter"
    map = "map"
    set = "set"
    queue = "queue"
    lock = "lock"
    semaphore = "semaphore"
    barrier = "barrier"


PrefixOption = Annotated[
    str, typer.Option("--prefix", help="Only persistence ids starting with this text.", metavar="TEXT")
]
KindOption = Annotated[
    StructureKind | None,
    typer.Option("--type", help="Only this structure kind (persistence ids 'KIND:…').", case_sensitive=False),
]
ImportOption = Annotated[
    list[str] | None,
    typer.Option(
        "--import",
        help="Import this module first (repeatable), so the event and state classes it registers decode.",
        metavar="MODULE",
    ),
]


def resolve_prefix(prefix: str, kind: StructureKind | None) -> str:
    """Combine ``--prefix`` and ``--type`` into one persistence id prefix."""
    if kind is None:
        return prefix
    kind_prefix = f"{kind.value}:"
    if not prefix or kind_prefix.startswith(prefix):
        return kind_prefix
    if prefix.startswith(kind_prefix):
        return prefix
    raise InvalidArgument(f"--prefix {prefix!r} cannot match --type {kind.value} (ids '{kind_prefix}…')")


def import_modules(modules: list[str] | None) -> None:
    """Import the ``--import`` modules (the current directory is importable)."""
    if not modules:
        return
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise InvalidArgument(f"cannot import --import {name}: {type(exc).__name__}: {exc}") from exc


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new event loop (commands are synchronous)."""
    return asyncio.run(coro)


def out_console() -> Console:
    """The console for results (stdout); wide enough not to wrap ids when piped."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160
    return console


def err_console() -> Console:
    """The console for progress and notes (stderr)."""
    return Console(stderr=True, highlight=False)


def note(message: str) -> None:
    """A plain informational line on stderr (keeps stdout clean for data)."""
    typer.echo(message, err=True)


def iso_time(timestamp: float | None) -> str:
    """UTC time with milliseconds, e.g. ``2025-01-31 12:00:00.123Z``."""
    if timestamp is None:
        return "-"
    moment = _dt.datetime.fromtimestamp(timestamp, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def iso_json(timestamp: float) -> str:
    """ISO 8601 UTC time for JSON output."""
    return _dt.datetime.fromtimestamp(timestamp, tz=_dt.UTC).isoformat(timespec="milliseconds")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``plural(1, "event")`` → ``1 event``; ``plural(2, "entity", "entities")`` → ``2 entities``."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def human_bytes(size: int) -> str:
    """``1536`` → ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def short(text: str, limit: int = 120) -> Text:
    """``text`` as literal rich text (no markup), cut to ``limit`` characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text)


class ProgressBar:
    """A rich progress bar on stderr, shown only when stderr is a terminal.

    Called as ``bar(phase, total, advance)`` (the
    :data:`casty_journal_sql.transfer.Progress` protocol): ``advance == -1``
    starts the phase with its ``total`` (``None``: unknown).
    """

    def __init__(self, *, enabled: bool = True) -> None:
        console = err_console()
        self.enabled = enabled and console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not self.enabled,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()

    def __call__(self, phase: str, total: int | None, advance: int) -> None:
        if advance == -1:
            self._tasks[phase] = self._progress.add_task(phase, total=total)
        elif phase in self._tasks:
            self._progress.advance(self._tasks[phase], advance)
