"""papers.changed_at: when a row last changed, for incremental indexing

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    # rows from before this migration count as changed now: the first index build takes them
    op.execute(sa.text("UPDATE papers SET changed_at = CURRENT_TIMESTAMP"))
    with op.batch_alter_table("papers") as batch_op:
        batch_op.alter_column("changed_at", nullable=False)
        batch_op.create_index("ix_papers_changed_at", ["changed_at"])


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch_op:
        batch_op.drop_index("ix_papers_changed_at")
        batch_op.drop_column("changed_at")
