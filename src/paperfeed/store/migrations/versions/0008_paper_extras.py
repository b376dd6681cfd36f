"""papers: Hugging Face's extras and locally computed keywords

Revision ID: 0008
Revises: 0007

Hugging Face's daily papers carry a model-written summary and keywords, the repository's stars,
the number of comments and when (and by whom) the paper came to the daily feed; imports dropped
them. Papers Hugging Face never saw get keywords computed here: ``keywords`` holds them and
``keywords_at`` when they were written, so a changed paper is computed again. The two times
indexed are what pages ask for: a day's Hugging Face arrivals, and the latest keywords written
(pages kept until the store changes).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("ai_summary", sa.Text()),
    ("ai_keywords", sa.JSON()),
    ("github_stars", sa.Integer()),
    ("num_comments", sa.Integer()),
    ("submitted_on_daily_at", sa.DateTime(timezone=True)),
    ("submitted_by", sa.String(200)),
    ("keywords", sa.JSON()),
    ("keywords_at", sa.DateTime(timezone=True)),
)

INDEXED = ("submitted_on_daily_at", "keywords_at")


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind))
        for name in INDEXED:
            batch.create_index(f"ix_papers_{name}", [name])


def downgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        for name in INDEXED:
            batch.drop_index(f"ix_papers_{name}")
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
