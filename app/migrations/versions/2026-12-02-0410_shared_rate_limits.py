"""rate_limit_buckets: token buckets shared by the service instances on one PostgreSQL

One row per charged bucket (an API key, a client address), updated by one atomic
``INSERT ... ON CONFLICT DO UPDATE`` per charged request. On PostgreSQL the table is UNLOGGED:
counters need no crash safety (after a crash the buckets start full) and skip the WAL.
SQLite keeps its in-process counters; the table exists there too, unused, so that both schemas
match the models.

Revision ID: 3b8f1c2d9a70
Revises: 4b8e1f2a9c31
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3b8f1c2d9a70"
down_revision: str | None = "4b8e1f2a9c31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    prefixes = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limit_buckets",
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
        prefixes=prefixes,
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
