"""The adapter's durable memory in `KeyValue`: session, sync token, direct rooms, join times, buttons.

Everything here survives a restart, so the bot reuses its device, resumes its sync where the last
handled batch ended, keeps one direct room per person and still knows which reaction runs which
button of a message it sent before the restart.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import KeyValue

KEY_LENGTH = 128  # KeyValue.key


class MatrixState:
    """Keys are namespaced by the bot's user id, so two bots may share one database. A key too long
    for the column (Matrix ids may be 255 characters) is stored under a digest within its group."""

    def __init__(self, engine: Engine, user_id: str) -> None:
        self.engine = engine
        self.prefix = f"matrix:{user_id}:"

    def _key(self, name: str) -> str:
        full = self.prefix + name
        if len(full) <= KEY_LENGTH:
            return full
        group, _sep, rest = name.partition(":")
        return f"{self.prefix}{group}:#{hashlib.sha256(rest.encode()).hexdigest()}"[:KEY_LENGTH]

    def get(self, key: str) -> str | None:
        with session_scope(self.engine) as session:
            row = session.get(KeyValue, self._key(key))
            return row.value if row else None

    def put(self, values: dict[str, str]) -> None:
        """Write several keys in one transaction."""
        now = datetime.now(UTC)
        with session_scope(self.engine) as session:
            for key, value in values.items():
                row = session.get(KeyValue, self._key(key))
                if row is None:
                    session.add(KeyValue(key=self._key(key), value=value, updated_at=now))
                else:
                    row.value = value
                    row.updated_at = now

    def delete(self, key: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(KeyValue, self._key(key))
            if row is not None:
                session.delete(row)

    def values(self, group: str) -> list[str]:
        """The values of every key of `group` (e.g. "dm:"); callers keep the ids they need in the value."""
        return list(self.items(group).values())

    def items(self, group: str) -> dict[str, str]:
        """Every key starting with `group`, without the prefix and the group."""
        start = self.prefix + group
        with session_scope(self.engine) as session:
            rows = session.exec(select(KeyValue).where(col(KeyValue.key).startswith(start)))
            return {row.key[len(start):]: row.value for row in rows}

    # -- typed helpers ----------------------------------------------------------------------------
    def transaction_prefix(self) -> str:
        """Outbox ids restart with a new database while the device (an access token in the settings) may
        stay; the homeserver would take `cercle-out-1` for a resend and drop it. A per-database word
        keeps transaction ids unique, and stable across restarts."""
        existing = self.get("txn_prefix")
        if existing:
            return existing
        self.put({"txn_prefix": secrets.token_hex(4)})
        return self.get("txn_prefix") or ""

    def buttons(self, event_id: str) -> dict[str, str]:
        raw = self.get(f"buttons:{event_id}")
        return dict(json.loads(raw)) if raw else {}

    def remember_buttons(self, event_id: str, by_reaction: dict[str, str]) -> None:
        if by_reaction:
            self.put({f"buttons:{event_id}": json.dumps(by_reaction, ensure_ascii=False)})
