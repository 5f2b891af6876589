"""credentials and status lists

Revision ID: 1981c0ae16a3
Revises: bff590c9c326
Create Date: 2026-11-21 05:17:51.367216
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "1981c0ae16a3"
down_revision: str | None = "bff590c9c326"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspension_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "credentials",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("credential_uri", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("learner_ref", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "client_id"),
        sa.UniqueConstraint("issuer_id", "idempotency_key"),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credentials_credential_uri"), ["credential_uri"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credentials_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "status_lists",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("published", sa.JSON(), nullable=True),
        sa.Column("published_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_lists_issuer_id"), ["issuer_id"], unique=False)

    op.create_table(
        "status_entries",
        sa.Column("list_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("credential_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("is_set", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["status_lists.id"],
        ),
        sa.PrimaryKeyConstraint("list_id", "index"),
    )
    with op.batch_alter_table("status_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_entries_credential_id"), ["credential_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("status_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_entries_credential_id"))

    op.drop_table("status_entries")
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_lists_issuer_id"))

    op.drop_table("status_lists")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_issuer_id"))
        batch_op.drop_index(batch_op.f("ix_credentials_credential_uri"))

    op.drop_table("credentials")
    with op.batch_alter_table("issuers", schema=None) as batch_op:
        batch_op.drop_column("suspension_enabled")
