"""Apply the Alembic migrations (at start and with `cercle db upgrade`).

A database migrated by a newer release (an old replica restarting during a rolling update, or a
rollback) is left as it is: the schema is additive within a release (HACKING.md), so the older code
runs on it; migrating "back" is not something a start should ever do.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 0x6365726C  # "cerl": serialises migrations of replicas starting together


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def unknown_revisions(conn: Connection) -> set[str]:
    """The database's revisions that this code has no migration for: a newer release migrated it."""
    return set(MigrationContext.configure(conn).get_current_heads()) - known_revisions()


def upgrade(engine: Engine) -> set[str]:
    """Bring the schema to the newest revision; replicas starting at once take turns. Returns the
    revisions a newer release left (nothing was done then), an empty set otherwise."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            conn.commit()
        try:
            newer = unknown_revisions(conn)
            conn.commit()
            if newer:
                log.warning("the database is at revision %s, newer than this release: not migrating it",
                            ", ".join(sorted(newer)))
                return newer
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                conn.commit()
    return set()


def current_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
