"""papers.keywords_hash: which text the key phrases were computed from

Revision ID: 0011
Revises: 0010

A paper's ``changed_at`` moves with every upvote, comment and sync, not only with its text;
key phrases are computed again only when the text they came from changed (as vectors are, by
``embeddings.text_hash``), else marked current.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("keywords_hash", sa.String(64)))


def downgrade() -> None:
    # not a batch: SQLite's copy of the table would lose the expression index of 0009
    op.drop_column("papers", "keywords_hash")
