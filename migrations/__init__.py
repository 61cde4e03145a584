"""Alembic environment and revisions of the casty SQL journal schema.

Installed as the package ``casty_journal_sql.migrations`` so the revisions ship
in the wheel; run them with ``casty-journal migrate upgrade --url URL`` or
:func:`casty_journal_sql.migrate.upgrade`. No ``alembic.ini`` is needed.
"""
