"""an OpenID4VCI offer made from a course keeps the course version it was made from

A cohort uploaded with ``offers`` makes one offer per learner; the credential signed when the
wallet redeems it points to the course version's public page and is found by
``GET /credentials?course=``, as a credential issued from the course directly is.

Revision ID: 8c41d2e7f3a5
Revises: 5e2c7a91d4b6
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "8c41d2e7f3a5"
down_revision: str | None = "5e2c7a91d4b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credential_offers") as batch:
        batch.add_column(
            sa.Column("course_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch.add_column(sa.Column("course_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credential_offers") as batch:
        batch.drop_column("course_version")
        batch.drop_column("course_id")
