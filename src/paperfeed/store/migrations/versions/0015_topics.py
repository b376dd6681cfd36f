"""topics found in the embeddings, and each paper's topic at two levels

Revision ID: 0015
Revises: 0014

``topics``: broad and fine groups of papers with their label phrases, top categories and
the centroid and threshold that assign new papers; ``paper_topics``: a paper's topic at each
level (none: in no topic). See :mod:`paperfeed.index.topics`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("label", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _moment("created_at", nullable=False),
        _moment("refit_at", nullable=False),
        _moment("retired_at"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["topics.id"],
            name=op.f("fk_topics_parent_id_topics"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_topics_retired_at"), "topics", ["retired_at"])
    op.create_table(
        "paper_topics",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_paper_topics_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_paper_topics_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", "level", name=op.f("pk_paper_topics")),
    )
    op.create_index(op.f("ix_paper_topics_topic_id"), "paper_topics", ["topic_id"])


def downgrade() -> None:
    op.drop_table("paper_topics")
    op.drop_table("topics")
