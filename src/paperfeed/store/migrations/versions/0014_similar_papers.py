"""similar_papers: each paper's similar papers, computed ahead and shared by every process

Revision ID: 0014
Revises: 0016

One row a paper: its fused neighbours (ids, scores, reasons), the vector-index save they were
computed with, and when (see ``paperfeed.store.similar``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "similar_papers",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("neighbours", sa.JSON(), nullable=False),
        sa.Column("basis", sa.String(length=80), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_similar_papers_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_similar_papers")),
    )
    for column in ("basis", "computed_at"):
        op.create_index(op.f(f"ix_similar_papers_{column}"), "similar_papers", [column])


def downgrade() -> None:
    op.drop_table("similar_papers")
