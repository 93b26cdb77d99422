"""Small database helpers for the crypto store: insert-or-ignore/update on SQLite and PostgreSQL, and
nio's naive local datetimes to and from the UTC columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

CHUNK = 200  # rows per statement (SQLite's bound-parameter limit)


def table_of(model: type[SQLModel]) -> Table:
    table = SQLModel.metadata.tables[str(getattr(model, "__tablename__"))]  # noqa: B009
    return table


def upsert(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] = ()) -> None:
    """Insert `rows`; on a conflict on `keys`, update the `update` columns (or leave the row as it is)."""
    table = table_of(model)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(rows), CHUNK):
        statement = insert(table).values(list(rows[start:start + CHUNK]))
        if update:
            statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                        set_={c: statement.excluded[c] for c in update})
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        session.execute(statement)


def aware(moment: datetime) -> datetime:
    """nio keeps naive local times; the columns want aware UTC ones."""
    return moment.astimezone(UTC)


def naive_local(moment: datetime) -> datetime:
    return moment.astimezone().replace(tzinfo=None)
