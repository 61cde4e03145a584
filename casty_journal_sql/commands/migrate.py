"""``casty-journal migrate``: create, upgrade and downgrade the journal schema.

::

    casty-journal migrate upgrade --url sqlite+aiosqlite:///app.db      # to the newest revision
    casty-journal migrate current --url postgresql+asyncpg://app@db/app
    casty-journal migrate history
    casty-journal migrate downgrade base --url … --yes                   # drops the journal tables
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from casty_journal_sql import migrate as migrations
from casty_journal_sql.commands.common import (
    JsonOption,
    OptionalUrlOption,
    SchemaOption,
    UrlOption,
    handle_errors,
)
from casty_journal_sql.engine import display_url, parse_url

app = typer.Typer(
    name="migrate",
    help="Create, upgrade or downgrade the journal's database schema (Alembic revisions).",
    no_args_is_help=True,
)


def _shown(url: str) -> str:
    return display_url(parse_url(url))


@app.command()
@handle_errors
def upgrade(
    url: UrlOption,
    revision: Annotated[
        str, typer.Argument(help="Target revision: 'head' (newest), a revision id or '+N'.")
    ] = "head",
    schema: SchemaOption = None,
) -> None:
    """Upgrade the journal schema (create it in an empty database)."""
    shown = _shown(url)
    before = migrations.current(url, schema=schema)
    after = migrations.upgrade(url, revision, schema=schema)
    if before == after:
        typer.echo(f"{shown}: already at revision {after}")
    else:
        typer.echo(f"{shown}: upgraded from {before or '(empty)'} to {after}")


@app.command()
@handle_errors
def downgrade(
    url: UrlOption,
    revision: Annotated[str, typer.Argument(help="Target revision: a revision id, '-N' or 'base'.")],
    schema: SchemaOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Downgrade the journal schema; 'base' drops the journal tables and their data."""
    shown = _shown(url)
    if not yes:
        typer.confirm(f"Downgrade {shown} to {revision}? This can delete journal data", abort=True)
    before = migrations.current(url, schema=schema)
    after = migrations.downgrade(url, revision, schema=schema)
    typer.echo(f"{shown}: downgraded from {before or '(empty)'} to {after or 'base (no journal tables)'}")


@app.command()
@handle_errors
def current(url: UrlOption, schema: SchemaOption = None, as_json: JsonOption = False) -> None:
    """Show the schema revision of the journal database."""
    revision = migrations.current(url, schema=schema)
    head = migrations.head_revision()
    if as_json:
        typer.echo(
            json.dumps(
                {"url": _shown(url), "revision": revision, "head": head, "up_to_date": revision == head}
            )
        )
        return
    if revision is None:
        typer.echo(f"{_shown(url)}: no journal schema (run `casty-journal migrate upgrade`)")
    elif revision == head:
        typer.echo(f"{revision} (head)")
    else:
        typer.echo(f"{revision} (behind head {head}: run `casty-journal migrate upgrade`)")


@app.command()
@handle_errors
def history(url: OptionalUrlOption = None, schema: SchemaOption = None, as_json: JsonOption = False) -> None:
    """List the schema revisions, oldest first (marks the database's revision with --url)."""
    revisions = migrations.history()
    at = migrations.current(url, schema=schema) if url else None
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "revision": r.revision,
                        "down_revision": r.down_revision,
                        "message": r.message,
                        "head": r.is_head,
                        "current": r.revision == at,
                    }
                    for r in revisions
                ]
            )
        )
        return
    for r in revisions:
        marks = [m for m, on in (("head", r.is_head), ("current", r.revision == at)) if on]
        suffix = f" ({', '.join(marks)})" if marks else ""
        typer.echo(f"{r.down_revision or '<base>'} -> {r.revision}{suffix}: {r.message}")
