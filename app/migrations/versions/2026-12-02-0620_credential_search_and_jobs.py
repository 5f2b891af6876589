"""credential search columns, status change reasons, background jobs

Credentials keep what GET /credentials filters on (the learner's identifier and folded name,
the course version they were issued from), with one index per filter under the issuer; a status
entry keeps the issuer's reason for its last change; jobs and job_rows hold background
work (app/services/jobs.py). Credentials issued before this revision have no search columns.

Revision ID: 3052a94af70d
Revises: 3b8f1c2d9a70
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3052a94af70d"
down_revision: str | None = "3b8f1c2d9a70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("learner_key", String(length=512), nullable=True))
        batch.add_column(sa.Column("learner_name", String(length=300), nullable=True))
        batch.add_column(sa.Column("learner_name_folded", String(length=300), nullable=True))
        batch.add_column(sa.Column("course_id", String(length=36), nullable=True))
        batch.add_column(sa.Column("course_version", sa.Integer(), nullable=True))
    op.create_index(
        "ix_credentials_issuer_created", "credentials", ["issuer_id", "created_at", "id"]
    )
    op.create_index(
        "ix_credentials_issuer_learner_ref", "credentials", ["issuer_id", "learner_ref"]
    )
    op.create_index(
        "ix_credentials_issuer_learner_key", "credentials", ["issuer_id", "learner_key"]
    )
    op.create_index(
        "ix_credentials_issuer_course", "credentials", ["issuer_id", "course_id", "course_version"]
    )
    with op.batch_alter_table("status_entries") as batch:
        batch.add_column(sa.Column("reason", String(length=500), nullable=True))

    op.create_table(
        "jobs",
        sa.Column("id", String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("kind", String(length=64), nullable=False),
        sa.Column("state", String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("lease_owner", String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_issuer_id", "jobs", ["issuer_id"])
    op.create_index("ix_jobs_claimable", "jobs", ["state", "lease_until"])
    op.create_table(
        "job_rows",
        sa.Column("job_id", String(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("state", String(length=8), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("job_id", "number"),
    )
    op.create_index("ix_job_rows_pending", "job_rows", ["job_id", "state", "number"])


def downgrade() -> None:
    op.drop_index("ix_job_rows_pending", table_name="job_rows")
    op.drop_table("job_rows")
    op.drop_index("ix_jobs_claimable", table_name="jobs")
    op.drop_index("ix_jobs_issuer_id", table_name="jobs")
    op.drop_table("jobs")
    with op.batch_alter_table("status_entries") as batch:
        batch.drop_column("reason")
    for name in (
        "ix_credentials_issuer_course",
        "ix_credentials_issuer_learner_key",
        "ix_credentials_issuer_learner_ref",
        "ix_credentials_issuer_created",
    ):
        op.drop_index(name, table_name="credentials")
    with op.batch_alter_table("credentials") as batch:
        for column in (
            "course_version",
            "course_id",
            "learner_name_folded",
            "learner_name",
            "learner_key",
        ):
            batch.drop_column(column)
