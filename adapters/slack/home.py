"""The Slack Home tab: a person's home (the core's `home` command) published with `views.publish`.

- Opening the tab (`app_home_opened`) publishes the person's view.
- A button in the view runs its command as the person (the same commands as in messages, through the
  core's once-only handling); the answer is shown at the top of the view, republished at once.
- What others do changes views too (a new crisis, a new consultation, acknowledgements): after every
  request Slack sends, and every `SWEEP` seconds for what happens elsewhere (Matrix, the console, other
  replicas, scheduled closings), the views of the people who opened the tab within `RECENT` are rebuilt,
  at most once per `DEBOUNCE` seconds (and never more than half of the time: a round waits as long as the
  last one took), and republished only when they changed.

The tab is private to its person: a click there is a private origin (`home`), like a slash command.
Refreshes are this process's: another replica refreshes the people who opened the tab through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError

from adapters.slack.conversation import NETWORK_ERRORS, Conversation, Where
from adapters.slack.rendering import COMMAND_ACTION, MAX_BLOCKS, mrkdwn, render
from adapters.slack.sender import slack_error
from bot.i18n import use_locale
from bot.messages import Reply
from bot.outbox import DeliveryError

log = logging.getLogger(__name__)

ORIGIN = "home"
HOME_COMMAND = "home"
DEBOUNCE = 2.0  # seconds: changes within this window cause one refresh
SWEEP = 60.0  # seconds between refreshes when nothing was seen happening
RECENT = 3600.0  # seconds: whose views are kept fresh (people who opened the tab within this)
MAX_WATCHED = 500  # people whose views are kept fresh (the most recent openers): bounds a refresh round

Person = tuple[str, str]  # (team, user)


class HomeTab:
    """Publishes and refreshes the Home tab of the people who open it."""

    def __init__(self, conversation: Conversation, *, monotonic: Callable[[], float] = time.monotonic,
                 debounce: float = DEBOUNCE, sweep: float = SWEEP, recent: float = RECENT) -> None:
        self.conversation = conversation
        self.client = conversation.client
        self.monotonic = monotonic
        self.debounce, self.sweep, self.recent = debounce, sweep, recent
        self._opened: OrderedDict[Person, float] = OrderedDict()  # oldest first
        self._published: dict[Person, str] = {}  # digest of the view last published
        self._dirty = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self.refreshes = 0  # refresh rounds run (tests, metrics)

    # -- Bolt -----------------------------------------------------------------------------------------
    def register(self, bolt: AsyncApp) -> None:
        """The tab's event, its buttons (before the messages' button listener, which takes the others),
        and a middleware noting that a request may have changed someone's view."""

        async def on_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
            if event.get("tab") != "home" or not event.get("user"):
                return
            async with self.conversation.busy():
                await self.opened(str(body.get("team_id") or event.get("team") or ""), str(event["user"]))

        async def from_home(body: dict[str, Any]) -> bool:
            return (body.get("view") or {}).get("type") == "home"

        async def on_click(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
            async with self.conversation.busy():
                await ack()
                await self.click(body, action)

        async def noticed(body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Any]) -> Any:
            response = await next()
            if self._opened and (body.get("event") or {}).get("type") != "app_home_opened":
                self.changed()
            return response

        bolt.event("app_home_opened")(on_opened)
        bolt.action(re.compile("^" + re.escape(COMMAND_ACTION)), matchers=[from_home])(on_click)
        bolt.use(noticed)

    # -- what the tab does ----------------------------------------------------------------------------
    async def opened(self, team: str, user: str) -> None:
        who = (team, user)
        self._opened.pop(who, None)
        self._opened[who] = self.monotonic()
        while len(self._opened) > MAX_WATCHED:
            gone, _at = self._opened.popitem(last=False)
            self._published.pop(gone, None)
        self._published.pop(who, None)  # publish on every opening: Slack may show an older view
        try:
            await self.publish(team, user)
        except DeliveryError as exc:
            log.warning("slack: the Home tab could not be published (%s)", exc.reason)
        self._ensure_loop()

    async def click(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        stamp = action.get("action_ts") or body.get("trigger_id")
        request = await self.conversation.request(
            where=_where(team), user_id=user_id, user_name=str(user.get("username") or user.get("name") or ""),
            text=str(action.get("value") or ""), event_key=f"action:{stamp}:{user_id}" if stamp else None,
            origin=ORIGIN)
        answering = self.conversation.core.answering
        outcome = await answering.run(request)
        if outcome.reply is None:  # the same click delivered again: already answered
            return
        await answering.show(request, outcome.reply, HomeResponder(self, team, user_id), outcome.locale)
        self.changed()

    async def publish(self, team: str, user: str, notice: Reply | None = None, *, passive: bool = False) -> bool:
        """Build the person's home and publish it when it differs from the last one (always with a notice);
        True when published. `passive`: a refresh the person did not ask for. Raises `DeliveryError` when
        Slack refuses or cannot be reached."""
        request = await self.conversation.request(where=_where(team), user_id=user, user_name="", text=HOME_COMMAND,
                                                  event_key=None, origin=ORIGIN)
        request = replace(request, passive=passive)
        outcome = await self.conversation.core.answering.run(request)
        if outcome.reply is None:
            return False
        with use_locale(outcome.locale):
            view = home_view(outcome.reply)
            digest = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
            if notice is not None:
                view = home_view(outcome.reply, notice)
        who = (team, user)
        if notice is None and self._published.get(who) == digest:
            return False
        try:
            await self.client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            code = slack_error(exc)
            raise DeliveryError(f"views.publish: {code or 'refused'}",
                                permanent=bool(code) and code != "ratelimited") from None
        except NETWORK_ERRORS as exc:
            raise DeliveryError(f"slack unreachable: {type(exc).__name__}") from None
        self._published[who] = digest  # a notice stays until the home itself changes
        return True

    # -- refreshing -----------------------------------------------------------------------------------
    def changed(self) -> None:
        """Something may have changed what people's homes show: refresh soon (coalesced)."""
        self._dirty.set()

    def watched(self) -> list[Person]:
        """The people who opened the tab within `recent`, most recent first (the others are forgotten)."""
        horizon = self.monotonic() - self.recent
        for who in [w for w, at in self._opened.items() if at < horizon]:
            del self._opened[who]
            self._published.pop(who, None)
        return list(reversed(self._opened))

    async def refresh(self) -> int:
        """Rebuild every watched view; returns how many were republished (changed)."""
        self.refreshes += 1
        published = 0
        for team, user in self.watched():
            try:
                published += await self.publish(team, user, passive=True)
            except DeliveryError as exc:
                log.warning("slack: a Home tab could not be refreshed (%s)", exc.reason)
                if not exc.permanent:
                    break  # rate limited or away: the next round tries again
        return published

    def _ensure_loop(self) -> None:
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._run())

    async def _run(self) -> None:
        rested = 0.0
        while self.watched():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.sweep)
            # What happens meanwhile is in this round; and a round never follows the last one sooner than
            # that one took, so refreshing takes at most half of the time however busy the workspace is.
            await asyncio.sleep(max(self.debounce, rested))
            self._dirty.clear()
            started = self.monotonic()
            try:
                async with self.conversation.busy():
                    await self.refresh()
            except Exception:  # a refresh must never end the loop
                log.exception("slack: refreshing Home tabs failed")
            rested = self.monotonic() - started

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loop
            self._loop = None


class HomeResponder:
    """The answer to a click in the Home tab is shown at the top of the republished view."""

    def __init__(self, home: HomeTab, team: str, user: str) -> None:
        self.home, self.team, self.user = home, team, user

    async def to_actor(self, reply: Reply, locale: str) -> None:
        await self.home.publish(self.team, self.user, notice=reply)

    async def to_place(self, reply: Reply, locale: str) -> None:
        await self.home.publish(self.team, self.user, notice=reply)


def _where(team: str) -> Where:
    return Where(team=team, channel_id="", direct=True)


def home_view(home: Reply, notice: Reply | None = None) -> dict[str, Any]:
    """The `home` view: the answer to the last click first (when there is one), then the home."""
    blocks: list[dict[str, Any]] = []
    if notice is not None:
        mark = "⚠️ " if notice.is_error else "✅ "
        text = notice.message.summary or notice.message.plain_text()
        blocks += [{"type": "section", "text": mrkdwn(mark + text)}, {"type": "divider"}]
    blocks += render(home.message).blocks
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS * 2]}
