"""Consultation requests and their history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultation_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("submission_key", sa.String(120), nullable=False, unique=True),
        sa.Column("requester_id", sa.String(32), nullable=False),
        sa.Column("team", sa.String(80), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("urgency", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(8), nullable=True),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("links", sa.JSON, nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("assignee_id", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted", sa.Boolean, nullable=False),
        sa.Column("post_error", sa.Text, nullable=True),
        sa.Column("triage_channel_id", sa.String(32), nullable=True),
        sa.Column("triage_ts", sa.String(32), nullable=True),
        sa.Column("sla_reminded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_consultation_requests_requester_id", "consultation_requests", ["requester_id"]
    )
    op.create_index("ix_consultation_requests_status", "consultation_requests", ["status"])
    op.create_index(
        "ix_consultation_requests_assignee_id", "consultation_requests", ["assignee_id"]
    )
    op.create_index("ix_consultation_requests_posted", "consultation_requests", ["posted"])
    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("consultation_requests.id"), nullable=False
        ),
        sa.Column("actor_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_request_events_request_id", "request_events", ["request_id"])


def downgrade() -> None:
    op.drop_table("request_events")
    op.drop_table("consultation_requests")
