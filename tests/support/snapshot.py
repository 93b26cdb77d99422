"""A snapshot of what users' commands change, to assert that a refused command changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

# Bookkeeping the router does for every request, refused or not: who was seen, when, and which
# platform events were handled. Everything else must stay as it was.
BOOKKEEPING = {"account": {"last_seen_at", "display_name", "platform_locale"}, "processed_event": None,
               "person": set(), "channel": set(), "alembic_version": None}


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            ignored = BOOKKEEPING.get(table.name, set())
            if ignored is None or table.name in ("person", "account", "channel"):
                continue
            cols = [c for c in table.columns if c.name not in ignored]
            rows = conn.execute(select(*cols).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out
