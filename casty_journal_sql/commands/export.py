"""``casty-journal export FILE``: write a journal to JSON lines (``-``: stdout).

::

    casty-journal export backup.jsonl --url sqlite+aiosqlite:///app.db
    casty-journal export - --url postgresql+asyncpg://app@db/app --type map | gzip > maps.jsonl.gz

The format is described in :mod:`casty_journal_sql.transfer`. A file is
written under a temporary name and renamed when complete, so an interrupted
export never leaves a file that looks whole.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, TextIO

import typer

from casty.errors import InvalidArgument, JournalError
from casty_journal_sql.commands.common import SchemaOption, UrlOption, handle_errors
from casty_journal_sql.commands.support import (
    KindOption,
    PrefixOption,
    ProgressBar,
    note,
    plural,
    resolve_prefix,
    run,
)
from casty_journal_sql.inspect import JournalReader
from casty_journal_sql.transfer import export_journal

__all__ = ["export", "register"]


async def _export(url: str, schema: str | None, prefix: str, out: TextIO) -> tuple[int, int]:
    async with JournalReader(url, schema=schema) as reader:
        with ProgressBar() as bar:
            return await export_journal(reader, out, prefix=prefix, progress=bar)


@handle_errors
def export(
    file: Annotated[
        str, typer.Argument(help="The JSON lines file to write; '-' for stdout.", metavar="FILE")
    ],
    url: UrlOption,
    prefix: PrefixOption = "",
    kind: KindOption = None,
    schema: SchemaOption = None,
) -> None:
    """Export events and snapshots to JSON lines (payloads verbatim)."""
    resolved = resolve_prefix(prefix, kind)
    if file == "-":
        n_events, n_snaps = run(_export(url, schema, resolved, sys.stdout))
        note(f"exported {plural(n_events, 'event')} and {plural(n_snaps, 'snapshot')}")
        return
    path = Path(file)
    if path.is_dir():
        raise InvalidArgument(f"{file} is a directory")
    partial = path.with_name(path.name + ".partial")
    try:
        handle = partial.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise InvalidArgument(f"cannot write {file}: {exc.strerror or exc}") from exc
    try:
        with handle:
            n_events, n_snaps = run(_export(url, schema, resolved, handle))
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise JournalError(f"writing {file} failed: {exc.strerror or exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    typer.echo(f"exported {plural(n_events, 'event')} and {plural(n_snaps, 'snapshot')} to {file}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
