"""A per-user rate limit shared by every replica; the stream a written answer is going into.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("question_jobs") as batch:
        batch.add_column(sa.Column("stream_ts", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("question_jobs") as batch:
        batch.drop_column("stream_ts")
    op.drop_table("rate_windows")
