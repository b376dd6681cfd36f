"""identity: user and subscription ids never reused; session and link keys; token last use

Revision ID: 0006
Revises: 0005
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("users", sa.Column("session_key", sa.String(length=64), nullable=True))
    op.add_column("subscriptions", sa.Column("link_key", sa.String(length=64), nullable=True))
    op.add_column("api_tokens", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    # every account a key of its own: the sessions of before (the id alone) end here.
    # Subscriptions keep none: the links already mailed carry the bare id, and must go on
    # working (unsubscribe above all) for the subscriptions they were sent for
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_key", sa.String))
    for user_id in bind.execute(sa.select(users.c.id)).scalars().all():
        keyed = users.update().where(users.c.id == user_id)
        bind.execute(keyed.values(session_key=secrets.token_urlsafe(16)))
    # On SQLite, AUTOINCREMENT needs the tables made again; PostgreSQL's sequences never
    # hand out an id twice
    never_reused = {"sqlite_autoincrement": True}
    with op.batch_alter_table(
        "users", recreate="always" if sqlite else "auto", table_kwargs=never_reused
    ) as batch:
        batch.alter_column("session_key", existing_type=sa.String(length=64), nullable=False)
    if sqlite:
        with op.batch_alter_table("subscriptions", recreate="always", table_kwargs=never_reused):
            pass


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("link_key")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_key")
