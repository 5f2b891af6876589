"""joint_credentials, joint_status_holds: credentials awarded jointly by several bodies

A joint credential's draft, the proofs its awarding bodies have added, its state and expiry;
the status indices a draft carries are held until it is released.

Revision ID: 8a41c6e2f0d3
Revises: 8c41d2e7f3a5
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8a41c6e2f0d3"
down_revision: str | None = "8c41d2e7f3a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "joint_credentials",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("credential_uri", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("bodies", sa.JSON(), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("proofs", sa.JSON(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_joint_credentials_issuer_id"), "joint_credentials", ["issuer_id"], unique=False
    )
    op.create_table(
        "joint_status_holds",
        sa.Column("list_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("joint_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["status_lists.id"]),
        sa.ForeignKeyConstraint(["joint_id"], ["joint_credentials.id"]),
        sa.PrimaryKeyConstraint("list_id", "index"),
    )
    op.create_index(
        op.f("ix_joint_status_holds_joint_id"), "joint_status_holds", ["joint_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_joint_status_holds_joint_id"), table_name="joint_status_holds")
    op.drop_table("joint_status_holds")
    op.drop_index(op.f("ix_joint_credentials_issuer_id"), table_name="joint_credentials")
    op.drop_table("joint_credentials")
