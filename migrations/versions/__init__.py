"""Alembic revisions of the casty SQL journal schema, oldest first (``0001_initial`` …)."""
