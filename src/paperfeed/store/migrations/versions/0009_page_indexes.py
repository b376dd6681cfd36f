"""indexes for what the pages look up: organisation, DOI, folded title, co-saves

Revision ID: 0009
Revises: 0008

Each index serves a filter that otherwise walks every paper (EXPLAIN in
tests/test_query_plans.py): an organisation's page, a reference's DOI (compared lower-cased,
hence an index on ``lower(doi)``), readers who saved a paper (similar papers' co-saves; the
primary key starts with the user). Library matching folds titles in Python (LaTeX, accents,
punctuation), which no SQL expression does: ``title_folded`` stores the cheap fold
(:func:`paperfeed.text.folded_title`), filled here for the stored papers and on every write.
"""

import sqlalchemy as sa
from alembic import op

from paperfeed.text import folded_title

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("title_folded", sa.Text()))
    _fill_folded_titles()
    with op.batch_alter_table("papers") as batch:
        batch.create_index("ix_papers_title_folded", ["title_folded"])
        batch.create_index("ix_papers_organisation_id", ["organisation_id"])
    op.create_index("ix_papers_doi_lower", "papers", [sa.text("lower(doi)")])
    op.create_index("ix_saved_papers_paper_id", "saved_papers", ["paper_id"])


def downgrade() -> None:
    op.drop_index("ix_saved_papers_paper_id", "saved_papers")
    op.drop_index("ix_papers_doi_lower", "papers")
    with op.batch_alter_table("papers") as batch:
        batch.drop_index("ix_papers_organisation_id")
        batch.drop_index("ix_papers_title_folded")
        batch.drop_column("title_folded")


def _fill_folded_titles() -> None:
    """Fold the stored titles in batches of ids (a store of millions is never read at once)."""
    papers = sa.table(
        "papers",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("title_folded"),
    )
    conn = op.get_bind()
    after = 0
    while rows := conn.execute(
        sa.select(papers.c.id, papers.c.title)
        .where(papers.c.id > after)
        .order_by(papers.c.id)
        .limit(BATCH)
    ).all():
        conn.execute(
            sa.update(papers).where(papers.c.id == sa.bindparam("row_id")),
            [{"row_id": key, "title_folded": folded_title(title)} for key, title in rows],
        )
        after = rows[-1].id
