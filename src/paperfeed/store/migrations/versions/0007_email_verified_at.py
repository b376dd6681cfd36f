"""accounts: when the address was verified (a mailed link followed)

Revision ID: 0007
Revises: 0006

Every account of before starts unverified. A subscription confirmed by mail proved that the
mailbox wanted a digest, not that the account holder reads that mailbox: a signed-in account
subscribing "its own" address was made active with no mail at all, and a stranger's account
with the address got linked to the owner's subscriptions. One click on the profile page (or
``paperfeed admin verify EMAIL``) verifies an address; digests already confirmed keep coming.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
