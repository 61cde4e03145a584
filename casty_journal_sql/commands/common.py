"""Options and error handling shared by every ``casty-journal`` subcommand.

Exit codes (also in ``casty-journal --help``):

* ``0`` success;
* ``1`` the operation failed (e.g. a migration step raised, an undecodable event);
* ``2`` bad usage: unknown option, bad URL, unknown revision;
* ``3`` the database is unreachable, is not a database, or its schema is
  missing/outdated;
* ``130`` interrupted.

Errors are printed as one red line on stderr, never as a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer

from casty.errors import CastyError, InvalidArgument, JournalUnavailable, SchemaError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "JsonOption",
    "OptionalUrlOption",
    "SchemaOption",
    "UrlOption",
    "fail",
    "handle_errors",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

URL_ENVVAR = "CASTY_JOURNAL_URL"
SCHEMA_ENVVAR = "CASTY_JOURNAL_SCHEMA"
_URL_HELP = (
    "Journal database URL: sqlite+aiosqlite:///path/to/journal.db or "
    "postgresql+asyncpg://user:password@host:5432/database."
)

UrlOption = Annotated[
    str, typer.Option("--url", envvar=URL_ENVVAR, show_envvar=True, help=_URL_HELP, metavar="URL")
]
OptionalUrlOption = Annotated[
    str | None, typer.Option("--url", envvar=URL_ENVVAR, show_envvar=True, help=_URL_HELP, metavar="URL")
]
SchemaOption = Annotated[
    str | None,
    typer.Option(
        "--schema",
        envvar=SCHEMA_ENVVAR,
        show_envvar=True,
        help="PostgreSQL only: the schema holding the journal tables.",
        metavar="SCHEMA",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``message`` as one red line on stderr and exit with ``code``."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, InvalidArgument):
        return EXIT_USAGE
    if isinstance(exc, JournalUnavailable | SchemaError):
        return EXIT_UNAVAILABLE
    return EXIT_FAILURE


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so casty errors become one red line and a meaningful exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CastyError as exc:
            fail(str(exc), exit_code_for(exc))
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper
