"""token status lists and SD-JWT VC: a list kind and width, a suspended flag, a disclosure policy

``status_lists.kind`` tells Bitstring Status Lists (``bitstring``, W3C, one purpose a list) from
IETF Token Status Lists (``token``, one list for both purposes: ``bits`` 2 when the issuer
suspends, else 1). A token list's entry keeps revocation in ``is_set`` and suspension in
``suspended``. ``issuers.sd_jwt_selectable`` is the issuer's SD-JWT VC disclosure policy (the
claims a holder may leave out; null for the default).

Revision ID: 5e2c7a91d4b6
Revises: 3df417f74728
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5e2c7a91d4b6"
down_revision: str | None = "3df417f74728"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="bitstring",
            )
        )
        batch.add_column(sa.Column("bits", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("status_entries") as batch:
        batch.add_column(
            sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("issuers") as batch:
        batch.add_column(sa.Column("sd_jwt_selectable", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("issuers") as batch:
        batch.drop_column("sd_jwt_selectable")
    with op.batch_alter_table("status_entries") as batch:
        batch.drop_column("suspended")
    with op.batch_alter_table("status_lists") as batch:
        batch.drop_column("bits")
        batch.drop_column("kind")
