"""Alembic environment: runs on the engine paperfeed hands over (see store.database)."""

from alembic import context

from paperfeed.store.schema import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    # A batch migration on SQLite copies a table and drops the old one, and dropping a table
    # with foreign keys on deletes the rows that cascade from it (authors, vectors)
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()  # the PRAGMA began the connection's transaction: end it here
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
