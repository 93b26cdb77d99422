"""The migrations build exactly the schema the tables declare, on SQLite and on PostgreSQL; a new database
is created at the head revision in one step with the same schema, and an older one is migrated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from storage.db import make_engine
from storage.migrate import alembic_config, current_heads, migrate, upgrade
from tests.support.databases import PostgresDatabase

EmptyDatabase = Callable[[], Engine]


@pytest.fixture
def empty_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[EmptyDatabase]:
    """Makes new, empty databases of the current backend (PostgreSQL: created for the test, then dropped)."""
    if backend == "postgres":
        request.getfixturevalue("_postgres")  # PostgreSQL reachable (or the test is skipped / fails in CI)
    made: list[tuple[Engine, PostgresDatabase | None]] = []

    def make() -> Engine:
        database = PostgresDatabase() if backend == "postgres" else None
        url = database.url if database else f"sqlite:///{tmp_path}/db{len(made)}.db"
        engine = make_engine(url)
        made.append((engine, database))
        return engine

    yield make
    for engine, database in made:
        engine.dispose()
        if database is not None:
            database.drop()


def heads(engine: Engine) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def schema(engine: Engine) -> dict[str, Any]:
    """Everything the database says of its tables: columns and types, keys, indexes, constraints."""
    found: dict[str, Any] = {}
    with engine.connect() as conn:
        db = inspect(conn)
        for table in sorted(db.get_table_names()):
            found[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                            for c in db.get_columns(table)],
                "primary key": db.get_pk_constraint(table)["constrained_columns"],
                "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                        tuple(f["referred_columns"]), str(f.get("options"))) for f in
                                       db.get_foreign_keys(table)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in db.get_indexes(table)),
                "unique": sorted((u["name"], tuple(u["column_names"])) for u in db.get_unique_constraints(table)),
                "checks": sorted((c["name"], c["sqltext"]) for c in db.get_check_constraints(table)),
            }
    return found


def test_migrations_build_the_schema_the_tables_declare(empty_database: EmptyDatabase) -> None:
    engine = empty_database()
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    assert current_heads(engine) == heads(engine)


def test_a_new_database_is_created_at_head_with_the_migrated_schema(empty_database: EmptyDatabase) -> None:
    migrated, created = empty_database(), empty_database()
    migrate(migrated)
    upgrade(created)  # empty: `create_all`, then stamped with the heads
    assert schema(created) == schema(migrated)
    assert "alembic_version" in schema(created) and len(schema(created)) == len(SQLModel.metadata.tables) + 1
    assert current_heads(created) == current_heads(migrated) == heads(created)
    upgrade(created)  # at head: nothing to do, nothing changes
    assert current_heads(created) == heads(created)


def test_an_existing_database_runs_its_migrations(empty_database: EmptyDatabase) -> None:
    engine, migrated = empty_database(), empty_database()
    cfg = alembic_config(engine)
    command.upgrade(cfg, "0001_core")  # a database from before the capabilities' tables
    assert current_heads(engine) == {"0001_core"} and "position" not in inspect(engine).get_table_names()
    upgrade(engine)
    migrate(migrated)
    assert current_heads(engine) == heads(engine)
    assert schema(engine) == schema(migrated)


def test_database_is_at_every_head(engine: Engine) -> None:
    assert current_heads(engine) == heads(engine)
