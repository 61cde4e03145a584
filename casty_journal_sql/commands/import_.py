"""``casty-journal import FILE``: load a JSON lines export into a journal (``-``: stdin).

::

    casty-journal import backup.jsonl --url postgresql+asyncpg://app@db/app --migrate
    gunzip -c maps.jsonl.gz | casty-journal import - --url sqlite+aiosqlite:///app.db

Resumable and idempotent like ``copy``: rows the target already holds are
skipped, so an interrupted import is finished by running it again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from casty.errors import InvalidArgument
from casty_journal_sql.commands.common import JsonOption, SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import ProgressBar, out_console, plural, run
from casty_journal_sql.transfer import JournalWriter, TransferResult, import_journal

__all__ = ["import_", "register"]


def _counted(lines: Iterable[str], bar: ProgressBar) -> Iterator[str]:
    pending = 0
    for line in lines:
        pending += len(line.encode())
        if pending >= 256 * 1024:
            bar("importing", None, pending)
            pending = 0
        yield line
    bar("importing", None, pending)


async def _import(
    url: str,
    schema: str | None,
    lines: Iterable[str],
    name: str,
    size: int | None,
    migrate: bool,
    batch_size: int,
    show_progress: bool,
) -> tuple[TransferResult, str]:
    target = JournalWriter(url, schema=schema)
    await target.open(migrate_schema=migrate)
    try:
        with ProgressBar(enabled=show_progress) as bar:
            bar("importing", size, -1)
            result = await import_journal(_counted(lines, bar), target, name=name, batch_size=batch_size)
    finally:
        await target.close()
    return result, target.url


@handle_errors
def import_(
    file: Annotated[str, typer.Argument(help="The JSON lines file to read; '-' for stdin.", metavar="FILE")],
    url: UrlOption,
    schema: SchemaOption = None,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Create or upgrade the journal schema first.")
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Import a JSON lines export (from `casty-journal export`); resumable and idempotent."""
    if file == "-":
        result, shown = run(
            _import(url, schema, sys.stdin, "<stdin>", None, migrate, batch_size, not as_json)
        )
    else:
        path = Path(file)
        try:
            handle = path.open("r", encoding="utf-8")
        except OSError as exc:
            raise InvalidArgument(f"cannot read {file}: {exc.strerror or exc}") from exc
        with handle:
            size = path.stat().st_size
            try:
                result, shown = run(
                    _import(url, schema, handle, file, size, migrate, batch_size, not as_json)
                )
            except UnicodeDecodeError as exc:
                raise InvalidArgument(f"{file} is not UTF-8 text: {exc}") from exc
    if as_json:
        typer.echo(json.dumps({"to": shown, **result.to_json()}, ensure_ascii=False))
        return
    events = plural(result.events_written, "event")
    snaps = plural(result.snapshots_written, "snapshot")
    message = f"imported {events} ({result.events_skipped} already present) and {snaps} into {shown}"
    out_console().print(Text(f"{message}; the file's counts match"), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
