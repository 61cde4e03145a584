"""Initial journal schema: casty_events and casty_snapshots.

Revision ID: 0001_initial
Revises:
Create Date: 2024-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Persistence ids compare byte-wise (code point order) on every backend, so
# ``persistence_ids()`` is sorted the same way as Python sorts strings.
_PID = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "casty_events",
        sa.Column(
            "offset",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("persistence_id", _PID, nullable=False),
        sa.Column("sequence_nr", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("written_at", sa.Double(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("persistence_id", "sequence_nr", name="uq_casty_events_pid_seq"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "casty_snapshots",
        sa.Column("persistence_id", _PID, nullable=False),
        sa.Column("sequence_nr", sa.BigInteger(), nullable=False),
        sa.Column("state_type", sa.String(255), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("written_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("persistence_id", "sequence_nr", name="pk_casty_snapshots"),
    )
    # No further index: the unique key (persistence_id, sequence_nr) serves
    # reads of one entity, highest_sequence_nr and persistence_ids(); the
    # primary key "offset" serves read_all. Every index costs each append.


def downgrade() -> None:
    op.drop_table("casty_snapshots")
    op.drop_table("casty_events")
