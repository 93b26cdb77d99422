"""The adapter's durable memory in `KeyValue`: session, sync token, direct rooms, join times, buttons.

Everything here survives a restart, so the bot reuses its device, resumes its sync where the last
handled batch ended, keeps one direct room per person and still knows which reaction runs which
button of a message it sent before the restart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import KeyValue


class MatrixState:
    """Keys are namespaced by the bot's user id, so two bots may share one database."""

    def __init__(self, engine: Engine, user_id: str) -> None:
        self.engine = engine
        self.prefix = f"matrix:{user_id}:"

    def get(self, key: str) -> str | None:
        with session_scope(self.engine) as session:
            row = session.get(KeyValue, self.prefix + key)
            return row.value if row else None

    def put(self, values: dict[str, str]) -> None:
        """Write several keys in one transaction."""
        now = datetime.now(UTC)
        with session_scope(self.engine) as session:
            for key, value in values.items():
                row = session.get(KeyValue, self.prefix + key)
                if row is None:
                    session.add(KeyValue(key=self.prefix + key, value=value, updated_at=now))
                else:
                    row.value = value
                    row.updated_at = now

    def delete(self, key: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(KeyValue, self.prefix + key)
            if row is not None:
                session.delete(row)

    def items(self, group: str) -> dict[str, str]:
        """Every key starting with `group`, without the prefix and the group."""
        start = self.prefix + group
        with session_scope(self.engine) as session:
            rows = session.exec(select(KeyValue).where(col(KeyValue.key).startswith(start)))
            return {row.key[len(start):]: row.value for row in rows}

    # -- typed helpers ----------------------------------------------------------------------------
    def buttons(self, event_id: str) -> dict[str, str]:
        raw = self.get(f"buttons:{event_id}")
        return dict(json.loads(raw)) if raw else {}

    def remember_buttons(self, event_id: str, by_reaction: dict[str, str]) -> None:
        if by_reaction:
            self.put({f"buttons:{event_id}": json.dumps(by_reaction, ensure_ascii=False)})
