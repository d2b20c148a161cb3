"""The index shared by replicas (generations, chunks, their files) and named job claims.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_generations",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("chunk_count", sa.Integer, nullable=False),
        sa.Column("embedding_model", sa.String(200), nullable=False),
        sa.Column("published_by", sa.String(80), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "index_chunks",
        sa.Column(
            "generation",
            sa.Integer,
            sa.ForeignKey("index_generations.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("chunk_id", sa.String(64), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_table(
        "index_files",
        sa.Column(
            "generation",
            sa.Integer,
            sa.ForeignKey("index_generations.number", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "job_claims",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("job_claims")
    op.drop_table("index_files")
    op.drop_table("index_chunks")
    op.drop_table("index_generations")
