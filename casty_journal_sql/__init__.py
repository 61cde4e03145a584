"""The SQL event journal of casty: :class:`SqlJournal` on SQLite or PostgreSQL.

This package is the only part of casty that uses SQLAlchemy. It provides the
journal (:mod:`casty_journal_sql.journal`), its schema migrations
(:mod:`casty_journal_sql.migrate`, revisions in ``casty_journal_sql.migrations``)
and the ``casty-journal`` command line tool (:mod:`casty_journal_sql.cli`).
"""

from casty_journal_sql.journal import SqlJournal

__all__ = ["SqlJournal"]
