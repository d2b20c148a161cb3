"""Owners' verifications of documents (issue 14): the review date they extend, their notes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_reviews",
        sa.Column("doc_key", sa.String(512), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("review_by", sa.Date, nullable=True),
        sa.Column("verified_by", sa.String(200), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_reviews")
