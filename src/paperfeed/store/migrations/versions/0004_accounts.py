"""accounts: users, API tokens, votes, saved papers, submissions; papers.votes and .hidden

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _user_paper(table: str, *extra: sa.Column, keys: tuple[str, ...]) -> None:
    op.create_table(
        table,
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["paper_id"],
            ["papers.id"],
            name=op.f(f"fk_{table}_paper_id_papers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{table}")),
    )


def _moment(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    # plain ADD COLUMNs: a batch migration would copy the whole papers table on SQLite
    op.add_column("papers", sa.Column("votes", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "papers", sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    _user_paper("votes", _moment("created_at"), keys=("user_id", "paper_id"))
    op.create_index(op.f("ix_votes_paper_id"), "votes", ["paper_id"])
    _user_paper("saved_papers", _moment("created_at"), keys=("user_id", "paper_id"))
    _user_paper("submissions", _moment("submitted_at"), keys=("paper_id",))
    op.create_index(op.f("ix_submissions_user_id"), "submissions", ["user_id"])
    op.create_index(op.f("ix_submissions_submitted_at"), "submissions", ["submitted_at"])


def downgrade() -> None:
    for table in ("submissions", "saved_papers", "votes", "api_tokens", "users"):
        op.drop_table(table)
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("hidden")
        batch.drop_column("votes")
