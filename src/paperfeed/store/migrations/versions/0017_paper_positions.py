"""each paper's place on the map: a 2-D layout fitted with the topics

Revision ID: 0017
Revises: 0015

``paper_positions``: x and y of each embedded paper the topics placed, and whether it is a
landmark that places new papers between refits. See :mod:`paperfeed.index.topics.layout`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_positions",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("landmark", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_paper_positions_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_positions")),
    )
    op.create_index(op.f("ix_paper_positions_landmark"), "paper_positions", ["landmark"])


def downgrade() -> None:
    op.drop_table("paper_positions")
