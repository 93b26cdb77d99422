"""Bring the schema to the newest revision (at start and with `cercle db upgrade`).

A new, empty database is created at the head revision in one step: the tables as declared
(`create_all`), then stamped with the head revisions. An existing database runs its Alembic migrations.
Both give the same schema (`tests/storage/test_migrations.py` checks it on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x6365726C  # "cerl": serialises migrations of replicas starting together


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # with argparse: only to run migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection holding the migration lock (PostgreSQL: replicas starting at once take turns)."""
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql":
            yield conn
            return
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
        conn.commit()
        try:
            yield conn
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
            conn.commit()


def upgrade(engine: Engine) -> None:
    """A new database: created at the head revision; an existing one: its migrations run."""
    with _locked(engine) as conn:
        new = not inspect(conn).get_table_names()  # SQLite: BEGIN IMMEDIATE, so a second process waits here
        if new:
            _create_at_head(conn)
        conn.commit()
        if not new:
            _migrate(conn, engine)
            conn.commit()


def migrate(engine: Engine) -> None:
    """Run the Alembic migrations, whatever the database holds (the path an existing database takes)."""
    with _locked(engine) as conn:
        _migrate(conn, engine)
        conn.commit()


def _migrate(conn: Connection, engine: Engine) -> None:
    from alembic import command

    cfg = alembic_config(engine)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "heads")


def _create_at_head(conn: Connection) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    import storage.tables  # noqa: F401  (registers every table)

    SQLModel.metadata.create_all(conn)
    MigrationContext.configure(conn).stamp(ScriptDirectory(str(MIGRATIONS)), "heads")


def current_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
