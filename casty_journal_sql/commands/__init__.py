"""Subcommands of ``casty-journal``, one module per group (``migrate``, …).

Each module defines a ``typer.Typer`` named ``app`` (or plain commands) and
uses the shared options and error handling of :mod:`.common`;
:mod:`casty_journal_sql.cli` mounts them.
"""
