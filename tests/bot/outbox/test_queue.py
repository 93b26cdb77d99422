"""Writing to the outbox: the application's Outbox wakes its own workers once the rows are committed
(not before, not on a rollback, not another application's workers); adapters read sent messages
through `sent_message`."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.identity import ensure_channel
from bot.messages import Actions, Button, Message, Section
from bot.outbox import Outbox, enqueue, sent_message
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.support.chat import RecordingSender


def _rows(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage)).one())


def test_workers_are_woken_once_the_rows_are_committed(engine: Engine, settings: Settings) -> None:
    outbox, other = Outbox(), Outbox()
    seen: list[int] = []  # rows another session sees when the wake-up comes
    outbox.notifier.subscribe(lambda: seen.append(_rows(engine)))
    woken_elsewhere: list[str] = []
    other.notifier.subscribe(lambda: woken_elsewhere.append("x"))
    with session_scope(engine) as session:
        channel = ensure_channel(session, "console", "local", "general", "#general")
        outbox.send_to_channel(session, settings, channel, lambda: Message.text("one"))
        outbox.enqueue(session, platform="console", workspace="local", target_kind="dm", target_id="bob",
                       message=Message.text("two"))
        assert seen == []  # not before the commit: a woken worker would find nothing
    assert seen == [2]  # once for the transaction, when both rows can be claimed
    assert woken_elsewhere == []  # another application's workers are not disturbed

    with pytest.raises(RuntimeError), session_scope(engine) as session:
        outbox.enqueue(session, platform="console", workspace="local", target_kind="dm", target_id="bob",
                       message=Message.text("rolled back"))
        raise RuntimeError("the command failed")
    assert seen == [2] and _rows(engine) == 2

    with session_scope(engine) as session:  # the plain function wakes nobody: workers find it when they poll
        enqueue(session, platform="console", workspace="local", target_kind="dm", target_id="bob",
                message=Message.text("plain"))
    assert seen == [2]


def test_a_subscribed_worker_delivers_without_waiting_for_its_poll(engine: Engine, settings: Settings) -> None:
    outbox = Outbox()
    sender = RecordingSender("console")

    async def go() -> float:
        worker = DeliveryWorker(engine, {"console": sender}, poll_interval=60.0, notifier=outbox.notifier)
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.3)  # the worker found nothing and waits (a minute, unless woken)

        def write() -> None:
            with session_scope(engine) as session:
                channel = ensure_channel(session, "console", "local", "general", "#general")
                outbox.send_to_channel(session, settings, channel, lambda: Message.text("news"))

        started = time.monotonic()
        await asyncio.to_thread(write)
        while not sender.sent and time.monotonic() - started < 10:
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        worker.stop()
        await task
        return elapsed

    elapsed = asyncio.run(go())
    assert [s.text for s in sender.sent] == ["news"]
    assert elapsed < 5.0


def test_sent_message_finds_what_was_posted_on_a_platform(engine: Engine) -> None:
    message = Message("vote", (Section(text="Vote"), Actions((Button("Yes", "vote V1 1", reaction="👍"),))))
    buttons = Message("idea", blocks=(Section(text="I1"),))
    with session_scope(engine) as session:
        first = enqueue(session, platform="matrix", workspace="hs", target_kind="channel", target_id="!r:hs",
                        message=message)
        second = enqueue(session, platform="slack", workspace="T1", target_kind="channel", target_id="C1",
                         message=buttons)
        assert first is not None and second is not None
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == first.id)
                        .values(status="sent", platform_message_id="$event1"))
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == second.id)
                        .values(status="sent", platform_message_id="$event1"))
    with session_scope(engine) as session:
        assert sent_message(session, "matrix", "$event1") == message
        assert sent_message(session, "slack", "$event1") == buttons
        assert sent_message(session, "matrix", "$unknown") is None
