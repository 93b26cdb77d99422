"""An anonymous question leaves no trace of its asker: not in any table, not in the logs, not in the outbox."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from bot.clock import FrozenClock
from storage.db import session_scope
from storage.tables import Account, AnonymousRecord, CrisisQuestion, OutboxMessage
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat, found

PERSON_COLUMNS = {"person_id", "asker_id", "actor_person_id", "answered_by", "author_id", "account_id"}


def snapshot(chat: Chat) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """Every row of every table, by primary key."""
    out: dict[str, dict[Any, tuple[Any, ...]]] = {}
    with session_scope(chat.app.engine) as s:
        for table in SQLModel.metadata.sorted_tables:
            pk = [c.name for c in table.primary_key.columns]
            rows = s.execute(sa_select(table)).mappings().all()
            out[table.name] = {tuple(r[c] for c in pk): tuple(r.items()) for r in rows}
    return out


def test_anonymous_question_is_linked_to_nobody(chat: Chat, clock: FrozenClock,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    chat.ok("help", user="bob", direct=True)
    clock.set(datetime(2026, 11, 23, 9, 17, 23, tzinfo=UTC))
    with session_scope(chat.app.engine) as s:
        bob = s.exec(select(Account).where(Account.user_id == "bob")).one()
    before = snapshot(chat)
    caplog.clear()

    text = chat.ok(f'crisis ask C{cid} "Is my job at risk? (secret-marker)" --anonymous', user="bob", direct=True,
                   event_key="evt-anon-1")
    qid = int(found(r"Q(\d+)", text))
    assert "Keep the code" in text

    after = snapshot(chat)
    changed = {t: [row for key, row in rows.items() if before.get(t, {}).get(key) != row]
               for t, rows in after.items()}
    # Only the question and its anonymous record are written: not even the asker's account (no last_seen_at),
    # no processed event, no audit row in the identified sequence.
    assert sorted(t for t, rows in changed.items() if rows) == ["anonymousrecord", "crisisquestion"]
    for table, rows in changed.items():
        for row in rows:
            for name, value in dict(row).items():
                if name in PERSON_COLUMNS:
                    assert value is None, (table, name, value)
                assert "bob" not in str(value) and "evt-anon-1" not in str(value), (table, name, value)
    with session_scope(chat.app.engine) as s:
        question = s.get(CrisisQuestion, qid)
        assert question is not None and question.asker_id is None and question.anonymous
        record = s.exec(select(AnonymousRecord)).one()
        # times are kept to the hour, so the question cannot be matched with anyone's activity
        assert question.asked_at == record.at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        assert (record.action, record.subject) == ("crisis.ask", f"crisis:{cid}")
    # The same event again (a platform retry) has no second effect.
    assert chat.app.router.handle(chat.request(f'crisis ask C{cid} "Is my job at risk? (secret-marker)" --anonymous',
                                           user="bob", direct=True, event_key="evt-anon-1")) is None
    with session_scope(chat.app.engine) as s:
        assert len(s.exec(select(CrisisQuestion)).all()) == 1
    assert "bob" not in caplog.text and "secret-marker" not in caplog.text

    # Communicators see the question as anonymous; the answer goes only to channels.
    assert f"Q{qid} [to answer] (anonymous)" in chat.ok(f"crisis questions C{cid}", user="dave")
    chat.ok(f'crisis answer Q{qid} "No."', user="dave")
    sent = chat.deliver()
    assert sent and all(s.target_kind == "channel" for s in sent)
    with session_scope(chat.app.engine) as s:
        assert s.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "dm",
                                                  OutboxMessage.person_id == bob.person_id)).all() == []
    assert "bob" not in caplog.text and "secret-marker" not in caplog.text


def test_anonymous_question_in_a_visible_matrix_room_is_refused(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat, audience="all")
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    matrix = {"platform": "matrix", "workspace": "example.org", "user": "@bob:example.org"}
    chat.ok("help", channel="!room:example.org", **matrix)
    cid = declare(chat, audience="all")
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    text = chat.error(f'crisis ask C{cid} "Q?" --anonymous', channel="!room:example.org", **matrix)
    assert "private conversation" in text and "not be anonymous" in text
    with session_scope(chat.app.engine) as s:
        assert s.exec(select(CrisisQuestion)).all() == []
    assert "Keep the code" in chat.ok(f'crisis ask C{cid} "Q?" --anonymous', channel="!dm:example.org",
                                      direct=True, **matrix)
