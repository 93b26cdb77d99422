"""A chat driver over the core: say commands as people, in places, and see what went out."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from adapters.console.platform import WORKSPACE as CONSOLE_WORKSPACE
from bot.app import Application
from bot.events import Actor, Place, Request, UserInfo
from bot.messages import Message, Reply
from bot.outbox import Outgoing
from bot.outbox.worker import DeliveryWorker
from storage.db import session_scope
from storage.tables import OutboxMessage


@dataclass(frozen=True)
class Sent:
    platform: str
    target_kind: str
    target_id: str
    message: Message

    @property
    def text(self) -> str:
        return self.message.plain_text()


class RecordingSender:
    """A sender that records what it is given, for any platform name."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[Sent] = []

    async def send(self, item: Outgoing) -> str:
        self.sent.append(Sent(item.platform, item.target_kind, item.target_id, item.message))
        return f"{self.platform}-{item.id}"


class Chat:
    """`chat.say("community join x", user="bob")` returns the reply; `chat.deliver()` what went elsewhere."""

    def __init__(self, app: Application, platform: str = "console", workspace: str = CONSOLE_WORKSPACE) -> None:
        self.app = app
        self.platform = platform
        self.workspace = workspace
        self.senders = {p: RecordingSender(p) for p in app.platforms.names}

    def request(self, text: str, *, user: str = "alice", channel: str = "general", direct: bool = False,
                event_key: str | None = None, users: dict[str, UserInfo] | None = None,
                locale: str | None = None, platform: str | None = None, workspace: str | None = None,
                timezone: str | None = None) -> Request:
        platform = platform or self.platform
        workspace = workspace or self.workspace
        place = Place(platform, workspace, f"dm-{user}" if direct else channel,
                      name=f"dm @{user}" if direct else f"#{channel}", direct=direct)
        return Request(actor=Actor(platform, workspace, user, user, locale, timezone), place=place, text=text,
                       event_key=event_key, users=users or {})

    def say(self, text: str, **kwargs: Any) -> Reply:
        reply = self.app.router.handle(self.request(text, **kwargs))
        assert reply is not None, "the router gave no reply (a duplicate event?)"
        return reply

    def text(self, text: str, **kwargs: Any) -> str:
        return self.say(text, **kwargs).message.plain_text()

    def ok(self, text: str, **kwargs: Any) -> str:
        """Say something that must succeed; returns the reply text."""
        reply = self.say(text, **kwargs)
        assert not reply.is_error, f"{text!r} failed: {reply.message.plain_text()}"
        return reply.message.plain_text()

    def error(self, text: str, **kwargs: Any) -> str:
        """Say something that must be refused; returns the error text."""
        reply = self.say(text, **kwargs)
        assert reply.is_error, f"{text!r} should have failed but answered: {reply.message.plain_text()}"
        return reply.message.plain_text()

    def pending(self) -> list[OutboxMessage]:
        with session_scope(self.app.engine) as session:
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")
                                     .order_by(col(OutboxMessage.id))))

    def deliver(self) -> list[Sent]:
        """Deliver every due outbox row; returns what was sent, in order."""
        before = {p: len(s.sent) for p, s in self.senders.items()}
        worker = DeliveryWorker(self.app.engine, dict(self.senders), clock=self.app.clock,
                                guard=self.app.assembly.delivery_guards(self.app.settings))

        async def go() -> None:
            while await worker.run_once():
                pass

        asyncio.run(go())
        out: list[Sent] = []
        for p, s in self.senders.items():
            out.extend(s.sent[before[p]:])
        return out


def found(pattern: str, text: str) -> str:
    """The first group of `pattern` in a reply; fails the test, with the reply, when it is not there."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in {text!r}"
    return match.group(1)


def bullets(text: str) -> list[str]:
    """The bulleted lines of a reply, without their bullet."""
    return [line.removeprefix("  • ") for line in text.splitlines() if line.startswith("  • ")]
