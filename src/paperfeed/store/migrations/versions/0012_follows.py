"""follows: authors, organisations, categories and searches a user follows, with webhooks

Revision ID: 0012
Revises: 0011

A follow names what it watches by kind and target; its new papers reach the user's home page,
"Following" digest and Atom feed (``users.feed_key``: the feed URL's secret part), and are
POSTed to ``webhook_url`` when set, signed with ``webhook_secret``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follows")),
        sa.UniqueConstraint("user_id", "kind", "target", name="uq_follows_user_id_kind_target"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_follows_kind_target", "follows", ["kind", "target"])
    # plain ADD COLUMN and a separate unique index: a batch migration would copy users
    op.add_column("users", sa.Column("feed_key", sa.String(64), nullable=True))
    op.create_index(op.f("uq_users_feed_key"), "users", ["feed_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("uq_users_feed_key"), table_name="users")
    op.drop_column("users", "feed_key")
    op.drop_index("ix_follows_kind_target", table_name="follows")
    op.drop_table("follows")
