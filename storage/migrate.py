"""Bring the schema to the newest revision (at start and with `cercle db upgrade`).

A new, empty database is created at the head revision in one step: the tables as declared
(`create_all`), then stamped with the head revisions. An existing database runs its Alembic migrations.
Both give the same schema (`tests/storage/test_migrations.py` checks it on SQLite and PostgreSQL).

A database migrated by a newer release (an old replica restarting during a rolling update, or a
rollback) is left as it is: the schema is additive within a release (HACKING.md), so the older code
runs on it; migrating "back" is not something a start should ever do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x6365726C  # "cerl": serialises migrations of replicas starting together


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # with argparse: only to run migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def unknown_revisions(conn: Connection) -> set[str]:
    """The database's revisions that this code has no migration for: a newer release migrated it."""
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(conn).get_current_heads()) - known_revisions()


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


def upgrade(engine: Engine) -> set[str]:
    """A new database: created at the head revision; an existing one: its migrations run; replicas
    starting at once take turns. Returns the revisions a newer release left (nothing was done then),
    an empty set otherwise."""
    with _locked(engine) as conn:
        new = not inspect(conn).get_table_names()  # SQLite: BEGIN IMMEDIATE, so a second process waits here
        if new:
            _create_at_head(conn)
            conn.commit()
            return set()
        newer = unknown_revisions(conn)
        conn.commit()
        if newer:
            log.warning("the database is at revision %s, newer than this release: not migrating it",
                        ", ".join(sorted(newer)))
            return newer
        _migrate(conn, engine)
        conn.commit()
    return set()


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
