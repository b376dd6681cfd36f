"""Alembic environment: runs on the engine paperfeed hands over (see store.database)."""

from alembic import context

import paperfeed.store.vectors  # noqa: F401 - registers the embeddings table on Base
from paperfeed.store.schema import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
