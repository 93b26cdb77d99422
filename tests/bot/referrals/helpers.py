"""Shared steps of the referral tests: roles, a position, a nomination, and database checks."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import SQLModel, select

from storage.db import session_scope
from storage.tables import AuditEntry, Nomination, NominationEvent, OutboxMessage, Position
from tests.support.chat import Chat

WHY = "Bob ran the Kafka migration in Nantes and mentors the whole team."
HR_NOTE = "Strong profile, salary band C"


def setup_hr(chat: Chat, name: str = "hannah") -> None:
    chat.ok(f"role grant @{name} hr", user="admin")


def open_position(chat: Chat, extra: str = "--skills kafka,python") -> str:
    return chat.ok(f'position open "Data engineer" --site Lyon --team Platform {extra}', user="hannah", direct=True)


def nominate(chat: Chat, who: str = "bob", by: str = "marc", code: str = "P1") -> str:
    return chat.ok(f'nominate {code} @{who} "{WHY}"', user=by, direct=True)


def count(chat: Chat, table: type[SQLModel]) -> int:
    with session_scope(chat.app.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def snapshot(chat: Chat) -> tuple[int, ...]:
    """Row counts of everything a referral command may change, to prove a refusal changed nothing."""
    return tuple(count(chat, t) for t in (Position, Nomination, NominationEvent, OutboxMessage, AuditEntry))


def nomination(chat: Chat, nomination_id: int = 1) -> Nomination:
    with session_scope(chat.app.engine) as session:
        row = session.get(Nomination, nomination_id)
        assert row is not None
        return row


def channel_rows(chat: Chat) -> list[OutboxMessage]:
    with session_scope(chat.app.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "channel")))


def dms_to(chat: Chat, user: str) -> list[str]:
    """Deliver what is due and return the texts sent privately to `user`."""
    return [s.text for s in chat.deliver() if s.target_kind == "dm" and s.target_id == user]
