"""``casty-journal``: inspect and manage a casty SQL event journal.

This module holds the Typer application and mounts the subcommand groups
from :mod:`casty_journal_sql.commands` (one module each). Shared options
(``--url`` / ``CASTY_JOURNAL_URL``, ``--schema``, ``--json``) and the error
handling live in :mod:`casty_journal_sql.commands.common`; to add a command
group, write ``commands/<name>.py`` with a ``typer.Typer`` called ``app`` and
add it below with ``app.add_typer``.

Exit codes: 0 success, 1 operation failed (``verify`` found problems, a
``copy`` does not match its source, an undecodable event stopped a
``replay``), 2 bad usage (bad URL, unknown option, revision or persistence
id, malformed import file), 3 database unreachable or schema missing/outdated.
"""

from __future__ import annotations

import typer

from casty_journal_sql.commands import copy as copy_command
from casty_journal_sql.commands import entities as entities_command
from casty_journal_sql.commands import events as events_command
from casty_journal_sql.commands import export as export_command
from casty_journal_sql.commands import import_ as import_command
from casty_journal_sql.commands import migrate as migrate_commands
from casty_journal_sql.commands import replay as replay_command
from casty_journal_sql.commands import snapshots as snapshots_command
from casty_journal_sql.commands import stats as stats_command
from casty_journal_sql.commands import verify as verify_command
from casty_journal_sql.commands.common import (
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    JsonOption,
    OptionalUrlOption,
    SchemaOption,
    UrlOption,
    fail,
    handle_errors,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "JsonOption",
    "OptionalUrlOption",
    "SchemaOption",
    "UrlOption",
    "app",
    "fail",
    "handle_errors",
    "main",
]

app = typer.Typer(
    name="casty-journal",
    help=(
        "Inspect and manage a casty SQL event journal (SQLite or PostgreSQL). "
        "Exit codes: 0 ok, 1 failed (or verify found problems), 2 bad usage (bad URL, unknown id), "
        "3 database unreachable or schema missing/outdated."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(migrate_commands.app, name="migrate")
for _module in (
    entities_command,
    events_command,
    replay_command,
    snapshots_command,
    stats_command,
    verify_command,
    copy_command,
    export_command,
    import_command,
):
    _module.register(app)


@app.callback()
def _root() -> None:
    """Inspect and manage a casty SQL event journal."""


def main() -> None:
    """Entry point of the ``casty-journal`` console script."""
    app()
