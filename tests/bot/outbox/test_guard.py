"""Delivery guards: a private row a capability refuses at the last moment is not sent, keeps nothing, is
audited; only rows whose subject has a guard are looked at, all of a claimed batch in one call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.messages import Message
from bot.outbox import Outgoing, enqueue
from bot.outbox.guard import REFUSED, Addressed, Guards
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import AuditEntry, OutboxMessage, Person

SECRET = "Bob is nominated for the Lyon position"


class Recording:
    platform = "slack"

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, item: Outgoing) -> str:
        self.sent.append(item)
        return f"ts-{item.id}"


class Judge:
    """Refuses the rows addressed to the persons in `banned`; records what it was asked, call by call."""

    def __init__(self) -> None:
        self.banned: set[int] = set()
        self.calls: list[list[Addressed]] = []

    def __call__(self, session: Session, settings: Settings, rows: Sequence[Addressed]) -> set[int]:
        self.calls.append(list(rows))
        return {r.id for r in rows if r.person_id in self.banned}


def _people(engine: Engine, n: int) -> list[int]:
    with session_scope(engine) as session:
        people = [Person(display_name=f"p{i}") for i in range(n)]
        session.add_all(people)
        session.flush()
        return [p.id or 0 for p in people]


def _queue(engine: Engine, person_id: int | None, subject: str, kind: str = "dm") -> int:
    with session_scope(engine) as session:
        row = enqueue(session, platform="slack", workspace="T1", target_kind=kind, target_id=f"U{person_id}",
                      message=Message.text(SECRET), person_id=person_id, subject=subject)
        assert row is not None and row.id is not None
        return row.id


def _deliver(engine: Engine, judge: Judge, *, batch_size: int = 50) -> Recording:
    sender = Recording()
    worker = DeliveryWorker(engine, {"slack": sender}, guard=Guards([("secret:", judge)], Settings()),
                            batch_size=batch_size)

    async def go() -> None:
        while await worker.run_once():
            pass

    asyncio.run(go())
    return sender


def _row(engine: Engine, row_id: int) -> OutboxMessage:
    with session_scope(engine) as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_refused_row_is_not_sent_keeps_nothing_and_is_audited(engine: Engine) -> None:
    kept, lost = _people(engine, 2)
    judge = Judge()
    judge.banned = {lost}
    ok = _queue(engine, kept, "secret:1")
    refused = _queue(engine, lost, "secret:1")
    sender = _deliver(engine, judge)
    assert [s.id for s in sender.sent] == [ok]
    row = _row(engine, refused)
    assert (row.status, row.last_error, row.body, row.person_id, row.target_id) == ("failed", REFUSED, "", None, "")
    assert row.platform_message_id is None and row.claimed_until is None
    assert _row(engine, ok).status == "sent"
    with session_scope(engine) as session:
        [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "outbox.refused")).all()
    assert audit.subject == "secret:1" and json.loads(audit.details) == {"outbox": refused, "reason": REFUSED}
    assert SECRET not in audit.details and audit.actor_person_id is None
    assert _deliver(engine, judge).sent == []  # ended: never claimed again


def test_only_private_rows_of_guarded_subjects_are_asked_about_in_one_call_per_batch(engine: Engine) -> None:
    people = _people(engine, 30)
    judge = Judge()
    judge.banned = set(people)  # would refuse every row it is asked about
    guarded = [_queue(engine, p, f"secret:{p}") for p in people]
    other = [_queue(engine, p, "community:1") for p in people[:5]]
    channel = _queue(engine, None, "secret:9", kind="channel")
    sender = _deliver(engine, judge, batch_size=50)
    assert sorted(s.id for s in sender.sent) == sorted([*other, channel])
    assert len(judge.calls) == 1 and sorted(a.id for a in judge.calls[0]) == guarded
    with session_scope(engine) as session:
        statuses = set(session.exec(select(OutboxMessage.status).where(col(OutboxMessage.id).in_(guarded))))
    assert statuses == {"failed"}


def test_without_guards_or_with_the_right_kept_every_row_goes(engine: Engine) -> None:
    [person] = _people(engine, 1)
    row_id = _queue(engine, person, "secret:1")
    sender = _deliver(engine, Judge())
    assert [s.id for s in sender.sent] == [row_id] and sender.sent[0].message.plain_text() == SECRET
    assert _row(engine, row_id).status == "sent"
