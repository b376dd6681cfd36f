"""opting in to a mail for each comment on a paper by a followed author

Revision ID: 0016
Revises: 0013

``users.follow_mail``: a mail for each new comment on a paper by an author the account
follows (off until chosen).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN: a batch migration would copy the users table on SQLite
    op.add_column(
        "users", sa.Column("follow_mail", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("follow_mail")
