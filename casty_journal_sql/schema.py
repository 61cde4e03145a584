"""The journal's tables as SQLAlchemy Core objects, used by the queries.

The tables themselves are created by the Alembic revisions in ``migrations/``
(shipped as ``casty_journal_sql.migrations``); these definitions mirror the
latest revision and are only used to build statements. Nothing here creates
tables behind Alembic's back.

``casty_events``
    one row per event. ``offset`` is a journal-wide autoincrement column that
    orders every event (``read_all``); ``(persistence_id, sequence_nr)`` is
    unique and is the fence between two writers of one entity. ``deleted``
    marks the one row kept by ``delete_events`` to remember the highest
    sequence number of an entity whose events were all deleted.

``casty_snapshots``
    the latest few snapshots of each entity, primary key
    ``(persistence_id, sequence_nr)``.

Payloads are JSON text made by :class:`casty.persistence.codec.Codec` with
the value's type name and schema version in their own columns, never pickles.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "EVENTS_TABLE",
    "MAX_PERSISTENCE_ID_LENGTH",
    "SNAPSHOTS_TABLE",
    "VERSION_TABLE",
    "events",
    "metadata",
    "snapshots",
]

EVENTS_TABLE = "casty_events"
SNAPSHOTS_TABLE = "casty_snapshots"
VERSION_TABLE = "casty_alembic_version"
"""Alembic's version table for the journal schema (kept apart from an application's own)."""

MAX_PERSISTENCE_ID_LENGTH = 255

metadata = sa.MetaData()

events = sa.Table(
    EVENTS_TABLE,
    metadata,
    sa.Column(
        "offset", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("persistence_id", sa.String(MAX_PERSISTENCE_ID_LENGTH), nullable=False),
    sa.Column("sequence_nr", sa.BigInteger(), nullable=False),
    sa.Column("event_type", sa.String(255), nullable=False),
    sa.Column("event_version", sa.Integer(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("written_at", sa.Double(), nullable=False),
    sa.Column("deleted", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("persistence_id", "sequence_nr", name="uq_casty_events_pid_seq"),
    sqlite_autoincrement=True,
)

snapshots = sa.Table(
    SNAPSHOTS_TABLE,
    metadata,
    sa.Column("persistence_id", sa.String(MAX_PERSISTENCE_ID_LENGTH), primary_key=True),
    sa.Column("sequence_nr", sa.BigInteger(), primary_key=True),
    sa.Column("state_type", sa.String(255), nullable=False),
    sa.Column("state_version", sa.Integer(), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("written_at", sa.Double(), nullable=False),
)
