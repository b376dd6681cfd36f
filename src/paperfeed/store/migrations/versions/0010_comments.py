"""comments on papers, reports of them, banned users, opting in to reply mails

Revision ID: 0010
Revises: 0009

Discussions: threaded comments (Markdown as written and the sanitised HTML it renders to),
a user's report of a comment for the admin queue, ``users.banned_at`` (no more commenting)
and ``users.reply_mail`` (a mail for each reply to one's comments, off until chosen).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # plain ADD COLUMNs: a batch migration would copy the users table on SQLite
    op.add_column("users", _moment("banned_at"))
    op.add_column(
        "users", sa.Column("reply_mail", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        _moment("created_at", nullable=False),
        _moment("edited_at"),
        _moment("hidden_at"),
        _moment("deleted_at"),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f("fk_comments_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_comments_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["comments.id"],
            name=op.f("fk_comments_parent_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sqlite_autoincrement=True,
    )
    for column in ("paper_id", "user_id", "parent_id"):
        op.create_index(op.f(f"ix_comments_{column}"), "comments", [column])
    op.create_table(
        "comment_reports",
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _moment("created_at", nullable=False),
        _moment("resolved_at"),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_comment_reports_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_comment_reports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("comment_id", "user_id", name=op.f("pk_comment_reports")),
    )
    for column in ("user_id", "resolved_at"):
        op.create_index(op.f(f"ix_comment_reports_{column}"), "comment_reports", [column])


def downgrade() -> None:
    op.drop_table("comment_reports")
    op.drop_table("comments")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("reply_mail")
        batch.drop_column("banned_at")
