"""Each workspace's bot token, for what Cercle sends there.

- Requests: Bolt's authorize finds the installation of the request's workspace (refreshing a rotated
  token first) and builds the listener's client with it; `bind_request_token` (a Bolt middleware) also
  puts that token in a context variable, so the adapter's shared client (`WorkspaceClient`: replies,
  ephemerals, `users.info`) speaks with the token of the workspace being answered.
- The outbox: `WorkspaceSender` picks the token of each row's workspace (`Tokens.bot_token`), refreshed
  when it expires within `ROTATE_BEFORE_MINUTES`; a workspace that is not (or no longer) installed ends
  its rows with a permanent "workspace uninstalled".

Rotation between replicas: each refresh is saved over the row (last writer wins); Slack keeps the
access tokens it issued valid until they expire, so two replicas refreshing at once is harmless, and
one process refreshes a workspace once at a time (a lock per workspace).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.oauth.store import InstallationStore
from adapters.slack.platform import NAME
from adapters.slack.sender import SlackSender
from bot.outbox import DeliveryError, Outgoing
from bot.secret_box import SecretUnreadable

log = logging.getLogger(__name__)
ROTATE_BEFORE_MINUTES = 10  # a rotated token expiring sooner than this is refreshed before use
UNINSTALLED = "slack: workspace uninstalled"

_REQUEST_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("slack_request_token", default=None)


class WorkspaceClient(AsyncWebClient):
    """The adapter's client: its token is the one of the workspace whose request is being answered."""

    _fallback: str | None = None

    @property
    def token(self) -> str | None:
        return _REQUEST_TOKEN.get() or self._fallback

    @token.setter
    def token(self, value: str | None) -> None:
        self._fallback = value


def use_request_token(token: str | None) -> None:
    """From a Bolt middleware: the authorized workspace's token for everything this request's handling
    sends. Bolt runs the listener after the middleware chain, in the same task (or a task it starts from
    it), so the value is set, not reset: each request is handled in a task of its own (aiohttp, Socket
    Mode), and every request passes through the middleware first, so no value outlives its request."""
    _REQUEST_TOKEN.set(token)


class Tokens:
    """The bot token of a workspace, from its installation, refreshed before it expires."""

    def __init__(self, store: InstallationStore, rotator: AsyncTokenRotator,
                 minutes: int = ROTATE_BEFORE_MINUTES) -> None:
        self.store = store
        self.rotator = rotator
        self.minutes = minutes
        self._locks: dict[str, asyncio.Lock] = {}

    async def bot_token(self, team_id: str) -> str | None:
        """The workspace's bot token; None when it is not installed (or was uninstalled)."""
        async with self._locks.setdefault(team_id, asyncio.Lock()):
            row = await asyncio.to_thread(self.store.find_team, team_id)
            if row is None:
                return None
            try:
                installation = self.store.installation(row)
            except SecretUnreadable:  # retried: the operator may put the old key back (CERCLE_SECRET_KEY=new,old)
                raise DeliveryError("slack: the workspace's token does not open with CERCLE_SECRET_KEY") from None
            try:
                refreshed = await self.rotator.perform_token_rotation(installation=installation,
                                                                      minutes_before_expiration=self.minutes)
            except SlackTokenRotationError as exc:
                raise DeliveryError(f"slack: token refresh refused ({exc.api_error.response.get('error')})") from None
            if refreshed is None:
                return installation.bot_token
            await self.store.async_save(refreshed)
            log.info("slack: refreshed the bot token of workspace %s", team_id)
            return refreshed.bot_token


class WorkspaceSender:
    """The outbox's Slack sender when Cercle is installed in several workspaces: one `SlackSender` per
    workspace and token (a refreshed token gets a new one)."""

    platform: str = NAME

    def __init__(self, tokens: Tokens, client_for: Callable[[str], AsyncWebClient]) -> None:
        self.tokens = tokens
        self.client_for = client_for
        self._senders: dict[str, tuple[str, SlackSender]] = {}

    async def send(self, item: Outgoing) -> str:
        token = await self.tokens.bot_token(item.workspace)
        if token is None:
            raise DeliveryError(UNINSTALLED, permanent=True)
        known = self._senders.get(item.workspace)
        if known is None or known[0] != token:
            known = (token, SlackSender(self.client_for(token)))
            self._senders[item.workspace] = known
        return await known[1].send(item)
