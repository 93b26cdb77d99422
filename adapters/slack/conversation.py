"""Turning Slack payloads into core `Request`s, and replies back into Slack messages.

Shared by the slash command, the events (mentions, direct messages) and interactivity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.escaping import mentioned_channels, mentioned_users
from adapters.slack.rendering import Rendered, render
from adapters.slack.sender import slack_error
from adapters.slack.users import UserDirectory
from bot import identity
from bot.commands.router import Router
from bot.events import Actor, Place, Request
from bot.messages import Reply, Visibility
from storage.db import session_scope
from storage.tables import Person

log = logging.getLogger(__name__)
PLATFORM = "slack"
NETWORK_ERRORS = (SlackApiError, OSError, aiohttp.ClientError, TimeoutError)


@dataclass(frozen=True)
class Where:
    """The Slack conversation a request comes from."""

    team: str
    channel_id: str
    channel_name: str = ""
    direct: bool = False
    thread: str | None = None

    def place(self) -> Place:
        name = "" if self.channel_name in ("privategroup", "directmessage") else self.channel_name
        if name and not name.startswith("#") and not self.direct:
            name = "#" + name
        return Place(PLATFORM, self.team, self.channel_id, name=name, direct=self.direct, thread=self.thread)


def is_direct(channel_id: str, channel_name: str = "") -> bool:
    """A conversation between one person and the bot (Slack ids of direct messages start with D)."""
    return channel_id.startswith("D") or channel_name == "directmessage"


class Conversation:
    """Runs the router for Slack requests and posts replies where they belong."""

    def __init__(self, router: Router, client: AsyncWebClient, users: UserDirectory) -> None:
        self.router = router
        self.client = client
        self.users = users
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Marks a request being handled, so a stop (or a test) can wait for replies to go out."""
        self.inflight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.inflight -= 1
            if self.inflight == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def request(self, *, where: Where, user_id: str, user_name: str, text: str, event_key: str | None,
                      via_button: bool = False) -> Request:
        """A core request, with the names and languages of the caller and of every user mentioned.
        `event_key` (trigger id, event id, click) makes a redelivery of the same event a no-op."""
        mentions = mentioned_users(text)
        info, others = await asyncio.gather(self.users.info(user_id, user_name), self.users.many(mentions))
        actor = Actor(PLATFORM, where.team, user_id, info.display_name or user_name or user_id, info.locale)
        key = f"slack:{where.team}:{event_key}" if event_key else None
        return Request(actor=actor, place=where.place(), text=text, event_key=key, users=others,
                       channels=mentioned_channels(text), via_button=via_button)

    async def handle(self, request: Request) -> Reply | None:
        """The router's answer (None for an event already handled). The router never raises."""
        return await asyncio.to_thread(self.router.handle, request)

    def locale_of(self, team: str, user_id: str, platform_locale: str | None) -> str:
        """The language to speak to a person outside a command (form errors): chosen, Slack's, default."""
        with session_scope(self.router.engine) as session:
            account = identity.find_account(session, PLATFORM, team, user_id)
            person = session.get(Person, account.person_id) if account else None
            if person is not None:
                return identity.person_locale(session, person, self.router.settings.locale)
        return identity.platform_locale(platform_locale) or self.router.settings.locale

    async def post(self, reply: Reply, *, where: Where, user_id: str) -> None:
        """A reply without a response_url: ephemeral in a channel, a message in a direct conversation or
        when public. If the bot cannot post in the channel, a private reply goes to the person directly."""
        rendered = render(reply.message)
        try:
            if reply.visibility == Visibility.PUBLIC or where.direct:
                await self.client.chat_postMessage(channel=where.channel_id, text=rendered.text,
                                                   blocks=rendered.blocks, thread_ts=where.thread,
                                                   unfurl_links=False)
                return
            await self.client.chat_postEphemeral(channel=where.channel_id, user=user_id, text=rendered.text,
                                                 blocks=rendered.blocks, thread_ts=where.thread)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in ("channel_not_found", "not_in_channel", "is_archived") and not where.direct:
                await self._direct(user_id, rendered)
            else:
                log.warning("could not post a reply: %s", error or type(exc).__name__)
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not post a reply: %s", type(exc).__name__)

    async def answer(self, respond: AsyncRespond, reply: Reply, *, where: Where, user_id: str) -> None:
        """A reply through the request's response_url (ephemeral unless public); if Slack refuses it
        (expired, used up) or cannot be reached, posted with the Web API instead."""
        try:
            response = await respond(**response_kwargs(reply))
            if response.status_code == 200:
                return
            log.warning("the response_url refused a reply: HTTP %s", response.status_code)
        except NETWORK_ERRORS as exc:
            log.warning("could not answer through the response_url: %s", type(exc).__name__)
        if where.channel_id:
            await self.post(reply, where=where, user_id=user_id)

    async def _direct(self, user_id: str, rendered: Rendered) -> None:
        try:
            opened = await self.client.conversations_open(users=user_id)
            await self.client.chat_postMessage(channel=opened["channel"]["id"], text=rendered.text,
                                               blocks=rendered.blocks, unfurl_links=False)
        except NETWORK_ERRORS as exc:
            log.warning("could not send a private reply: %s", type(exc).__name__)


def response_kwargs(reply: Reply) -> dict[str, Any]:
    """A reply as a `response_url` payload."""
    rendered = render(reply.message)
    return {"text": rendered.text, "blocks": rendered.blocks, "replace_original": False,
            "response_type": "in_channel" if reply.visibility == Visibility.PUBLIC else "ephemeral"}
