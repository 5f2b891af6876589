"""trusted_issuers: the service's own issuer trust list

Revision ID: 4b8e1f2a9c31
Revises: 7c5d2a9e4b10
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "4b8e1f2a9c31"
down_revision: str | None = "7c5d2a9e4b10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_issuers",
        sa.Column("did", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("legal_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("legal_identifier", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("accreditation", sa.JSON(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("did"),
    )


def downgrade() -> None:
    op.drop_table("trusted_issuers")
