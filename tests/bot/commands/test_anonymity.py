"""The router keeps an anonymous request apart from identified rows (bot/commands/anonymity.py)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot.app import Application
from bot.commands import anonymity
from bot.events import Actor
from bot.messages import Reply
from bot.outbox import DeliveryError
from storage.db import session_scope
from storage.tables import AnonymousRecord, CrisisQuestion, OutboxMessage, ProcessedEvent
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat


class Away:
    """A platform that cannot show anything now (the homeserver is busy)."""

    async def to_actor(self, reply: Reply, locale: str) -> None:
        raise DeliveryError("homeserver busy", retry_after=1)

    async def to_place(self, reply: Reply, locale: str) -> None:
        raise DeliveryError("homeserver busy", retry_after=1)


def _count(app: Application, table: type[SQLModel]) -> int:
    with session_scope(app.engine) as session:
        return len(session.execute(select(table)).all())


def test_an_anonymous_error_is_not_queued_to_the_asker_either(app: Application, chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    before = _count(app, OutboxMessage)
    too_long = chat.request(f'crisis ask C{cid} "{"x" * 3000}" --anonymous', user="bob", direct=True)
    reply = asyncio.run(app.core.answering.answer(too_long, Away()))
    assert reply is not None and reply.is_error and not reply.traceable
    assert _count(app, OutboxMessage) == before and _count(app, CrisisQuestion) == 0


class Transactions:
    """The tables each committed transaction wrote (the statements a connection ran, up to its commit)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.open: dict[int, set[str]] = {}
        self.committed: list[set[str]] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        found = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", statement, re.IGNORECASE)
        if found:
            self.open.setdefault(id(conn.connection), set()).add(found.group(2).lower())

    def _commit(self, conn: Any) -> None:
        self.committed.append(self.open.pop(id(conn.connection), set()))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)


def test_the_anonymous_write_commits_apart_from_a_first_contact(app: Application, chat: Chat) -> None:
    setup_people(chat)
    chat.ok("help", user="zoe", channel="random")
    cid = declare(chat, audience="all")
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    # zoe never wrote to Cercle in private: her direct channel is created by the anonymous ask itself, and
    # her display name changed on the platform since
    watch = Transactions(app.engine)
    try:
        request = replace(chat.request(f'crisis ask C{cid} "Q?" --anonymous', user="zoe", direct=True,
                                       event_key="zoe-1"), actor=Actor("console", "local", "zoe", "Zoé R."))
        reply = app.router.handle(request)
    finally:
        watch.close()
    assert reply is not None and "Keep the code" in reply.message.plain_text()
    written = [tables for tables in watch.committed if tables]
    assert {"channel", "account", "person"} & written[0] and "crisisquestion" not in written[0]
    assert written[1] == {"crisisquestion", "anonymousrecord"}  # the anonymous write, alone
    with session_scope(app.engine) as session:
        assert session.get(ProcessedEvent, "zoe-1") is None
        (record,) = session.execute(select(AnonymousRecord)).scalars().all()
        assert record.id == anonymity.record_id("zoe-1", app.settings.secret_keys) and "zoe" not in record.id
    # A redelivery of the same event has no second effect.
    assert app.router.handle(request) is None
    assert _count(app, CrisisQuestion) == 1


def test_the_record_id_is_keyed_and_has_no_order() -> None:
    keys = ("k" * 40,)
    first, second = anonymity.record_id("slack:T1:cmd:1", keys), anonymity.record_id("slack:T1:cmd:2", keys)
    assert first != second and first != anonymity.record_id("slack:T1:cmd:1", ("m" * 40,))
    assert anonymity.record_id(None, keys) != anonymity.record_id(None, keys)  # no key: random
