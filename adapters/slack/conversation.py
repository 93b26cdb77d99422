"""Turning Slack payloads into core `Request`s, and showing replies the Slack way.

Shared by the slash command, the events (mentions, direct messages) and interactivity. What to do
with a reply (by its visibility, in which language, and the outbox when Slack does not take it) is
the core's answering policy (`bot/answering.py`); `SlackResponder` only knows how Slack shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import grid
from adapters.slack.escaping import mentioned_channels, mentioned_users
from adapters.slack.platform import NAME
from adapters.slack.rendering import Rendered, render
from adapters.slack.sender import delivery_error, slack_error
from adapters.slack.users import UserDirectory
from bot.core import Core
from bot.events import Actor, Place, Request
from bot.i18n import use_locale
from bot.messages import Reply, Visibility
from bot.outbox import DeliveryError

log = logging.getLogger(__name__)
NETWORK_ERRORS = (SlackApiError, OSError, aiohttp.ClientError, TimeoutError)
NOT_THERE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})  # an ephemeral goes to a DM instead


@dataclass(frozen=True)
class Where:
    """The Slack conversation a request comes from."""

    team: str
    channel_id: str
    channel_name: str = ""
    direct: bool = False
    thread: str | None = None
    enterprise: str = ""  # the Enterprise Grid organisation, "" outside Grid (`adapters/slack/grid.py`)

    @property
    def workspace(self) -> str:
        """What accounts and channels are keyed by: the organisation in Grid, else the workspace."""
        return self.enterprise or self.team

    def place(self) -> Place:
        name = "" if self.channel_name in ("privategroup", "directmessage") else self.channel_name
        if name and not name.startswith("#") and not self.direct:
            name = "#" + name
        return Place(NAME, self.workspace, self.channel_id, name=name, direct=self.direct, thread=self.thread,
                     also_known_as=(self.team,) if self.enterprise and self.team else ())


def is_direct(channel_id: str, channel_name: str = "") -> bool:
    """A conversation between one person and the bot (Slack ids of direct messages start with D)."""
    return channel_id.startswith("D") or channel_name == "directmessage"


class ResponseUrl:
    """Answers through a request's `response_url`, on the Web API client's session when it has one: Bolt's
    `respond` opens and closes a connection for every answer, which a burst of clicks pays for in CPU."""

    def __init__(self, url: str, client: AsyncWebClient) -> None:
        self.url = url
        self.client = client

    async def __call__(self, **payload: Any) -> WebhookResponse:
        hook = AsyncWebhookClient(url=self.url, timeout=self.client.timeout, session=self.client.session)
        return await hook.send_dict(payload)


class Conversation:
    """Builds Slack requests and has the core answer them; counts requests in flight."""

    def __init__(self, core: Core, client: AsyncWebClient, users: UserDirectory) -> None:
        self.core = core
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
                      origin: str) -> Request:
        """A core request, with the names and languages of the caller and of every user mentioned.
        `event_key` (trigger id, event id, click) makes a redelivery of the same event a no-op."""
        mentions = mentioned_users(text)
        info, others = await asyncio.gather(self.users.info(user_id, user_name),
                                            self.users.many(mentions, where.enterprise))
        seen = grid.keys(where.team, where.enterprise, user_id, await self.users.grid_for(user_id, where.enterprise))
        where = replace(where, enterprise=seen.enterprise)
        actor = Actor(NAME, where.workspace, seen.user_id, info.display_name or user_name or user_id, info.locale,
                      timezone=info.timezone, also_known_as=seen.account_aliases,
                      name_guessed=info.guessed or not info.display_name)
        key = f"{NAME}:{where.workspace}:{event_key}" if event_key else None
        place = replace(where.place(), also_known_as=seen.channel_aliases)
        return Request(actor=actor, place=place, text=text, event_key=key, users=others,
                       channels=mentioned_channels(text), origin=origin)

    def responder(self, where: Where, user_id: str, response_url: str | None = None) -> SlackResponder:
        respond = ResponseUrl(response_url, self.client) if response_url else None
        return SlackResponder(self.client, where, user_id, respond)

    async def answer(self, request: Request, where: Where, response_url: str | None = None) -> None:
        """Run the request and show its reply (through the request's response_url when there is one)."""
        await self.core.answering.answer(request, self.responder(where, request.actor.user_id, response_url))


class SlackResponder:
    """Shows a reply in Slack: through the request's response_url when it has one (ephemeral unless public)
    and it still works; else posted with the Web API (ephemeral in a channel, a message in a direct
    conversation or when public). A private reply in a channel the bot is not in goes to the person's DM."""

    def __init__(self, client: AsyncWebClient, where: Where, user_id: str, respond: ResponseUrl | None) -> None:
        self.client = client
        self.where = where
        self.user_id = user_id
        self.respond = respond

    async def to_actor(self, reply: Reply, locale: str) -> None:
        rendered = await self._through_response_url(reply, locale)
        if rendered is None:
            return
        if not self.where.channel_id:  # the outbox writes to their DM instead
            raise DeliveryError("the response_url refused the reply and there is no channel to post in")
        if self.where.direct:
            await self._call(self._post(self.where.channel_id, rendered, thread=self.where.thread))
            return
        try:
            await self.client.chat_postEphemeral(channel=self.where.channel_id, user=self.user_id, text=rendered.text,
                                                 blocks=rendered.blocks, thread_ts=self.where.thread)
        except SlackApiError as exc:
            if slack_error(exc) not in NOT_THERE:
                raise delivery_error(exc) from None
            opened = await self._call(self.client.conversations_open(users=self.user_id))
            await self._call(self._post(str(opened["channel"]["id"]), rendered))
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None

    async def to_place(self, reply: Reply, locale: str) -> None:
        rendered = await self._through_response_url(reply, locale)
        if rendered is None:
            return
        if not self.where.channel_id:
            raise DeliveryError("the response_url refused the reply and there is no channel to post in",
                                permanent=True)
        await self._call(self._post(self.where.channel_id, rendered, thread=self.where.thread))

    async def _through_response_url(self, reply: Reply, locale: str) -> Rendered | None:
        """None when the response_url took the reply; else the reply rendered for the Web API."""
        with use_locale(locale):
            rendered = render(reply.message)
        if self.respond is None:
            return rendered
        try:
            response = await self.respond(**response_kwargs(rendered, reply.visibility))
            if response.status_code == 200:
                return None
            log.warning("the response_url refused a reply: HTTP %s", response.status_code)
        except NETWORK_ERRORS as exc:
            log.warning("could not answer through the response_url: %s", type(exc).__name__)
        return rendered

    async def _post(self, channel: str, rendered: Rendered, *, thread: str | None = None) -> Any:
        return await self.client.chat_postMessage(channel=channel, text=rendered.text, blocks=rendered.blocks,
                                                  thread_ts=thread, unfurl_links=False)

    @staticmethod
    async def _call(call: Any) -> Any:
        """Await a Web API call, with Slack's refusals and network failures as the outbox's `DeliveryError`."""
        try:
            return await call
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None


def response_kwargs(rendered: Rendered, visibility: Visibility) -> dict[str, Any]:
    """A rendered reply as a `response_url` payload."""
    return {"text": rendered.text, "blocks": rendered.blocks, "replace_original": False,
            "response_type": "in_channel" if visibility == Visibility.PUBLIC else "ephemeral"}
