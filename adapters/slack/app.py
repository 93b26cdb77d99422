"""The Slack adapter: a Bolt `AsyncApp` over HTTP (on Cercle's aiohttp server) or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import command_forms, handlers, interactivity, shortcuts
from adapters.slack.conversation import NETWORK_ERRORS, Conversation
from adapters.slack.home import HomeTab
from adapters.slack.oauth.flow import OAuthInstall
from adapters.slack.platform import NAME, SlackSettings
from adapters.slack.sender import SlackSender, slack_error
from adapters.slack.users import UserDirectory
from adapters.slack.workflows import runner as workflows
from bot.core import Core
from bot.http import HttpServer
from bot.outbox import Sender

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
STOP_GRACE_SECONDS = 5.0
CONNECT_WAIT = 10.0  # seconds `start` waits for Socket Mode before going on (the client keeps trying)
PING_INTERVAL = 10.0  # Socket Mode heartbeat, and the pause between connection attempts


def make_client(token: str, base_url: str, *, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """A Web API client that retries connection errors and 5xx answers a little (not 429s: the
    outbox reschedules those with Slack's Retry-After). The outbox posts without these retries."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=10, session=session,
                          retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                                          AsyncServerErrorRetryHandler(max_retry_count=2)])


class SlackAdapter:
    name: str = NAME

    def __init__(self, core: Core, settings: SlackSettings, http: HttpServer | None) -> None:
        if not settings.configured:
            raise ValueError("Slack needs SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET), and "
                             "SLACK_SIGNING_SECRET unless in Socket Mode")
        self.settings = settings
        self.oauth: OAuthInstall | None = None
        self.sender: Sender
        if settings.oauth:  # several workspaces: each one's token comes from its installation
            self.oauth = OAuthInstall.build(core, settings)
            self.client, self.bolt, self.sender = self.oauth.client, self.oauth.bolt, self.oauth.sender
            if http is not None:
                self.oauth.serve(http)
        else:
            assert settings.bot_token
            self.client = make_client(settings.bot_token, settings.api_url)
            # Socket Mode requests come over Slack's authenticated websocket: no signature to check.
            self.bolt = AsyncApp(client=self.client, signing_secret=settings.signing_secret or "",
                                 request_verification_enabled=not settings.socket_mode,
                                 logger=logging.getLogger("slack_bolt.cercle"))
            self.sender = SlackSender(self.client)
        self.users = UserDirectory(self.client)
        self.conversation = Conversation(core, self.client, self.users)
        shortcuts.register(self.bolt, self.conversation, settings.command)  # before the slash command's listener
        handlers.register(self.bolt, self.conversation, settings.command)
        command_forms.register(self.bolt, self.conversation)
        self.home = HomeTab(self.conversation)
        self.home.register(self.bolt)  # before interactivity: it takes the Home tab's buttons
        interactivity.register(self.bolt, self.conversation)
        workflows.register(self.bolt, self.conversation)  # Workflow Builder steps (Bolt functions)
        self.socket_mode = settings.socket_mode
        self._connections: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        if http is not None and not self.socket_mode:
            http.app.router.add_post(EVENTS_PATH, self.on_http)

    async def on_http(self, request: web.Request) -> web.Response:
        """Commands, events and interactivity, verified by Bolt (signature and timestamp)."""
        bolt_response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def start(self) -> None:
        """Check the bot token, then (Socket Mode) connect. Slack refusing is logged with what to fix; the
        Socket Mode client keeps trying in the background, so the rest of Cercle runs meanwhile."""
        self._share_connections()
        await self._check_token()
        if not self.socket_mode:
            log.info("slack: listening for requests on %s", EVENTS_PATH)
            return
        # Created here, inside the running loop, as the Socket Mode client requires.
        self._socket = AsyncSocketModeHandler(self.bolt, self.settings.app_token, ping_interval=PING_INTERVAL)
        self._connecting = asyncio.create_task(self._socket.connect_async())
        done, _pending = await asyncio.wait({self._connecting}, timeout=CONNECT_WAIT)
        if done and not self._connecting.exception():
            log.info("slack: connected in Socket Mode")
        else:
            log.error("slack: Socket Mode is not connected yet; check SLACK_APP_TOKEN (an app-level token with "
                      "connections:write) and that Socket Mode is on in the app. Still trying.")

    def _share_connections(self) -> None:
        """One pool of kept-alive connections for every call to Slack: without a session, slack_sdk opens and
        closes a connection for each call, which a burst of clicks (a `users.info`, an answer each) pays in CPU
        that the acknowledgements then wait for. Made here, inside the running loop, as aiohttp requires."""
        if self._connections is None or self._connections.closed:
            self._connections = aiohttp.ClientSession()
        self.client.session = self._connections  # Bolt's clients, the directory, the answers, OAuth's senders
        if isinstance(self.sender, SlackSender):
            self.sender.client.session = self.sender.poster.session = self._connections

    async def _check_token(self) -> None:
        if self.oauth is not None:
            log.info("slack: OAuth install, %s", (await self.oauth.health())[1])
            return
        try:
            await asyncio.wait_for(self.client.auth_test(), timeout=10)
        except SlackApiError as exc:
            log.error("slack: SLACK_BOT_TOKEN was refused (%s); check it in the app's OAuth & Permissions",
                      slack_error(exc) or "HTTP error")
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            log.error("slack: the Web API at SLACK_API_URL cannot be reached (%s)", type(exc).__name__)

    async def stop_taking_requests(self) -> None:
        """Socket Mode: close the connection (Slack sends to the other replicas). HTTP mode: the listener stops."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
            self._connecting = None

    async def stop(self) -> None:
        """Stop taking requests, then let those being handled send their replies (a few seconds at most)."""
        await self.stop_taking_requests()
        await self.home.close()
        if not await self.conversation.wait_idle(STOP_GRACE_SECONDS):
            log.warning("slack: stopped with %d request(s) still being handled", self.conversation.inflight)
        if self._connections is not None:  # a call after this opens a connection of its own (slack_sdk)
            await self._connections.close()

    async def health(self) -> tuple[bool, str]:
        if self.oauth is not None:
            if self.socket_mode and not (self._socket is not None and await self._socket.client.is_connected()):
                return False, "socket mode: disconnected"
            return await self.oauth.health()
        try:
            auth = await asyncio.wait_for(self.client.auth_test(), timeout=5)
        except NETWORK_ERRORS as exc:
            return False, f"web api: {type(exc).__name__}"
        if self.socket_mode:
            connected = self._socket is not None and await self._socket.client.is_connected()
            if not connected:
                return False, "socket mode: disconnected"
        return True, f"team {auth.get('team_id')}" + (" (socket mode)" if self.socket_mode else "")

