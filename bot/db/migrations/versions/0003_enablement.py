"""Workshops, checklist runs and ticks; answers can belong to a workshop.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workshops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("trainer_id", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_workshops_channel_id", "workshops", ["channel_id"])
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("workshop_id", sa.Integer, nullable=True))
        batch.create_index("ix_answers_workshop_id", ["workshop_id"])
    op.create_table(
        "checklist_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("doc_id", sa.String(300), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("sections", sa.JSON, nullable=False),
        sa.Column("started_by", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("consultation_requests.id"), nullable=True
        ),
    )
    op.create_index("ix_checklist_runs_channel_id", "checklist_runs", ["channel_id"])
    op.create_table(
        "checklist_ticks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("checklist_runs.id"), nullable=False),
        sa.Column("item_key", sa.String(20), nullable=False),
        sa.Column("checked", sa.Boolean, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_checklist_ticks_run_id", "checklist_ticks", ["run_id"])


def downgrade() -> None:
    op.drop_table("checklist_ticks")
    op.drop_table("checklist_runs")
    with op.batch_alter_table("answers") as batch:
        batch.drop_index("ix_answers_workshop_id")
        batch.drop_column("workshop_id")
    op.drop_table("workshops")
