"""credential_shares, issuer_branding, credential_pages: share links, issuers' logo and colour,
public pages switched off

Revision ID: 3df417f74728
Revises: d7d228b9fc9a
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3df417f74728"
down_revision: str | None = "d7d228b9fc9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "issuer_branding",
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("colour", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column("logo_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("public_pages", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("issuer_id"),
    )
    op.create_table(
        "credential_pages",
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"]),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    op.create_table(
        "credential_shares",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(
        op.f("ix_credential_shares_credential_id"), "credential_shares", ["credential_id"]
    )
    op.create_index(op.f("ix_credential_shares_issuer_id"), "credential_shares", ["issuer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credential_shares_issuer_id"), table_name="credential_shares")
    op.drop_index(op.f("ix_credential_shares_credential_id"), table_name="credential_shares")
    op.drop_table("credential_shares")
    op.drop_table("credential_pages")
    op.drop_table("issuer_branding")
