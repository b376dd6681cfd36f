"""Opening the store: engine creation, SQLite and PostgreSQL tuning, schema migrations."""

from __future__ import annotations

from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` / ``postgres://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created and WAL mode switched on."""
    url = normalise_url(url)
    parsed = make_url(url)
    json = {"json_serializer": _dump_json, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True, **json)
        event.listen(engine, "connect", _tune_postgresql, insert=True)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **json)
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _dump_json(value: object) -> str:
    return orjson.dumps(value).decode()


def _tune_postgresql(dbapi_connection, _record) -> None:
    # no JIT: it compiled the plans of page queries that looked costly on a 2.7M-paper store
    # for ~30 ms each, longer than they ran (the followed papers: 16 ms, 46 with it)
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET in a transaction ends with its rollback
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION jit = off")
    dbapi_connection.autocommit = autocommit


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (a blank database gets every migration)."""
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (``"base"``: no tables at all)."""
    command.downgrade(_alembic_config(engine), revision)


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def open_store(url: str) -> Engine:
    """An engine on an up-to-date store: migrations run on first use and after upgrades."""
    engine = create_store_engine(url)
    if not is_current(engine):
        migrate(engine)
    return engine
