"""presentation requests (OpenID4VP 1.0): what a verifier asked a wallet for, and the answer

Revision ID: 7b3d0e9c2a41
Revises: 8a41c6e2f0d3
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "7b3d0e9c2a41"
down_revision: str | None = "8a41c6e2f0d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presentation_requests",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dcql_query", sa.JSON(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("callback", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column(
            "response_mode",
            sqlmodel.sql.sqltypes.AutoString(length=24),
            nullable=False,
            server_default="direct_post",
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
        sa.UniqueConstraint("state"),
    )
    with op.batch_alter_table("presentation_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presentation_requests_issuer_id"), ["issuer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("presentation_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presentation_requests_issuer_id"))
    op.drop_table("presentation_requests")
