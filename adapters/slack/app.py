"""The Slack adapter: a Bolt `AsyncApp` over HTTP (on Cercle's aiohttp server) or Socket Mode."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import handlers, interactivity
from adapters.slack.conversation import NETWORK_ERRORS, Conversation
from adapters.slack.sender import SlackSender
from adapters.slack.users import UserDirectory
from bot.app import Application
from bot.delivery import Sender
from bot.http import HttpServer

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STOP_GRACE_SECONDS = 5.0


def make_client(token: str, base_url: str) -> AsyncWebClient:
    """A Web API client that retries connection errors and 5xx answers a little (not 429s: the
    outbox reschedules those with Slack's Retry-After)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=10,
                          retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                                          AsyncServerErrorRetryHandler(max_retry_count=2)])


class SlackAdapter:
    name: str = "slack"

    def __init__(self, app: Application, http: HttpServer | None) -> None:
        settings = app.settings
        if not (settings.slack_bot_token and settings.slack_signing_secret):
            raise ValueError("Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        self.settings = settings
        self.client = make_client(settings.slack_bot_token, settings.slack_api_url)
        self.bolt = AsyncApp(client=self.client, signing_secret=settings.slack_signing_secret,
                             logger=logging.getLogger("slack_bolt.cercle"))
        self.users = UserDirectory(self.client)
        self.sender: Sender = SlackSender(self.client)
        self.conversation = Conversation(app.router, self.client, self.users)
        handlers.register(self.bolt, self.conversation, settings.slack_command)
        interactivity.register(self.bolt, self.conversation)
        self.socket_mode = bool(settings.slack_app_token)
        self._socket: AsyncSocketModeHandler | None = None
        if http is not None and not self.socket_mode:
            http.app.router.add_post(EVENTS_PATH, self.on_http)

    async def on_http(self, request: web.Request) -> web.Response:
        """Commands, events and interactivity, verified by Bolt (signature and timestamp)."""
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def start(self) -> None:
        if self.socket_mode:
            # Created here, inside the running loop, as the Socket Mode client requires.
            self._socket = AsyncSocketModeHandler(self.bolt, self.settings.slack_app_token)
            await self._socket.connect_async()
            log.info("slack: connected in Socket Mode")
        else:
            log.info("slack: listening for requests on %s", EVENTS_PATH)

    async def stop(self) -> None:
        """Stop taking requests, then let those being handled send their replies (a few seconds at most)."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if not await self.conversation.wait_idle(STOP_GRACE_SECONDS):
            log.warning("slack: stopped with %d request(s) still being handled", self.conversation.inflight)

    async def health(self) -> tuple[bool, str]:
        try:
            auth = await asyncio.wait_for(self.client.auth_test(), timeout=5)
        except NETWORK_ERRORS as exc:
            return False, f"web api: {type(exc).__name__}"
        if self.socket_mode:
            connected = self._socket is not None and await self._socket.client.is_connected()
            if not connected:
                return False, "socket mode: disconnected"
        return True, f"team {auth.get('team_id')}" + (" (socket mode)" if self.socket_mode else "")


def build_adapter(app: Application, http: HttpServer) -> SlackAdapter:
    return SlackAdapter(app, http)
