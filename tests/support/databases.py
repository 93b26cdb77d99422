"""Real databases for the tests: a fresh SQLite file or a PostgreSQL database made for this run.

`CERCLE_TEST_POSTGRES_URL` points at a PostgreSQL server the tests may create databases on
(default: the local server, `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`). With
`CI=true` an unreachable server fails the run; elsewhere the PostgreSQL half is skipped with the
reason. `CERCLE_TEST_DATABASES=sqlite` (or `postgres`) runs one half only.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from storage.db import make_engine
from storage.migrate import upgrade

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get("CERCLE_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def wanted_backends() -> list[str]:
    raw = os.environ.get("CERCLE_TEST_DATABASES", "sqlite,postgres")
    return [b.strip() for b in raw.split(",") if b.strip() in ("sqlite", "postgres")]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_reachable() -> str | None:
    """None when reachable, else the reason."""
    try:
        with psycopg.connect(_libpq(admin_url()), connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


class PostgresDatabase:
    """A database created for this test run and dropped after it."""

    def __init__(self) -> None:
        self.name = f"cercle_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.url = make_url(admin_url()).set(database=self.name).render_as_string(hide_password=False)
        with psycopg.connect(_libpq(admin_url()), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with psycopg.connect(_libpq(admin_url()), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (self.name,))
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')


def truncate_all(engine: Engine) -> None:
    """Empty every table of the schema (PostgreSQL), keeping the migration version."""
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"))]
        if names:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))


class SqliteTemplate:
    """A migrated SQLite file copied for each test (migrating once is the slow part)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.db"
        engine = make_engine(f"sqlite:///{self.path}")
        upgrade(engine)
        engine.dispose()
        raw = sqlite3.connect(self.path)  # fold the write-ahead log in, so one file is the whole database
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()

    def copy_to(self, target: Path) -> str:
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"
