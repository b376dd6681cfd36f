"""webhooks: outbox rows for webhook calls, the papers each follow's webhook carried

Revision ID: 0013
Revises: 0012

A webhook call is an outbox row of kind ``webhook`` tied to its follow (``follow_id``; no
``email``), its JSON body in ``message``. ``webhook_papers`` records which papers each
follow's calls carried, so none is sent twice; ``follows`` keeps when its new papers were last
looked for, its failures in a row, the last error and when it was paused.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs: a batch migration would copy follows
    op.add_column("follows", sa.Column("webhook_checked_at", sa.DateTime(timezone=True)))
    op.add_column(
        "follows",
        sa.Column("webhook_failures", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("follows", sa.Column("webhook_error", sa.Text()))
    op.add_column("follows", sa.Column("webhook_paused_at", sa.DateTime(timezone=True)))
    # SQLite cannot make a column nullable in place: the outbox is copied once
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("email", existing_type=sa.String(320), nullable=True)
        batch.add_column(sa.Column("follow_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbox_follow_id_follows"),
            "follows",
            ["follow_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_outbox_follow_id"), ["follow_id"])
    op.create_table(
        "webhook_papers",
        sa.Column("follow_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["follow_id"],
            ["follows.id"],
            name=op.f("fk_webhook_papers_follow_id_follows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_webhook_papers_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_webhook_papers_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("follow_id", "paper_id", name=op.f("pk_webhook_papers")),
    )
    op.create_index(op.f("ix_webhook_papers_outbox_id"), "webhook_papers", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("webhook_papers")
    op.execute("DELETE FROM outbox WHERE email IS NULL")  # webhook calls: no place for them
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(op.f("ix_outbox_follow_id"))
        batch.drop_constraint(op.f("fk_outbox_follow_id_follows"), type_="foreignkey")
        batch.drop_column("follow_id")
        batch.alter_column("email", existing_type=sa.String(320), nullable=False)
    with op.batch_alter_table("follows") as batch:
        for column in ("webhook_paused_at", "webhook_error", "webhook_failures"):
            batch.drop_column(column)
        batch.drop_column("webhook_checked_at")
