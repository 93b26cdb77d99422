"""Drive the real Slack adapter like Slack does: signed requests to `/slack/events` (or Socket Mode
envelopes), against the fake Web API in `tests/fakes/slack_api.py`."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy.engine import Engine

from adapters.slack.app import SlackAdapter
from adapters.slack.platform import SlackSettings
from bot.app import Application, build, default_platforms, platform_adapters
from bot.clock import Clock
from bot.http import HttpServer
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from tests.fakes.slack_api import TEAM_ID, Call, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-cercle-test"
APP_TOKEN = "xapp-cercle-test"
ADMIN, ALICE, BOB = "UADMIN", "UALICE", "UBOB"
USERS = {ADMIN: ("Ada Admin", "en-US"), ALICE: ("Alice", "en-US"), BOB: ("Bérénice", "fr-FR")}
_ids = itertools.count(1)


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds: timestamp and `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):08d}"


@dataclass
class Answer:
    """The HTTP answer Cercle gave to one signed request."""

    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackHarness:
    """The app running with Slack settings, the fake Slack, and helpers to talk like Slack."""

    def __init__(self, app: Application, fake: FakeSlack, http: HttpServer, adapter: SlackAdapter,
                 worker: DeliveryWorker, session: aiohttp.ClientSession) -> None:
        self.app = app
        self.fake = fake
        self.http = http
        self.adapter = adapter
        self.worker = worker
        self.session = session

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.bound_port}/slack/events"

    async def post(self, body: bytes, content_type: str, *, headers: dict[str, str] | None = None,
                   retry_num: int | None = None, signed: bool = True) -> Answer:
        sent = {"Content-Type": content_type, **(sign(body) if signed else {})}
        if retry_num is not None:
            sent["X-Slack-Retry-Num"] = str(retry_num)
            sent["X-Slack-Retry-Reason"] = "http_timeout"
        sent.update(headers or {})
        started = time.perf_counter()
        async with self.session.post(self.url, data=body, headers=sent) as response:
            text = await response.text()
            return Answer(response.status, text, time.perf_counter() - started)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every request the adapter took has sent its reply."""
        for _round in range(3):  # a listener task may start just after the HTTP answer
            assert await self.adapter.conversation.wait_idle(timeout), "the adapter is still busy"
            await _tick()

    # -- slash commands ---------------------------------------------------------------------------
    def command_body(self, text: str, *, user: str = ALICE, channel: str = "CGENERAL",
                     channel_name: str = "general", trigger_id: str | None = None) -> tuple[bytes, str]:
        trigger = trigger_id or new_id("trig.")
        fields = {"token": "legacy", "team_id": TEAM_ID, "team_domain": "cercle-test", "channel_id": channel,
                  "channel_name": channel_name, "user_id": user, "user_name": USERS.get(user, (user, ""))[0].lower(),
                  "command": self.app.settings.section("slack").command, "text": text, "api_app_id": "ACERCLE",
                  "response_url": self.fake.response_url(trigger), "trigger_id": trigger}
        return urlencode(fields).encode(), trigger

    async def command(self, text: str, *, user: str = ALICE, channel: str = "CGENERAL",
                      channel_name: str = "general", trigger_id: str | None = None,
                      retry_num: int | None = None) -> Call:
        """Send `/cercle <text>` and return what Cercle posted to the response_url."""
        body, trigger = self.command_body(text, user=user, channel=channel, channel_name=channel_name,
                                          trigger_id=trigger_id)
        answer = await self.post(body, "application/x-www-form-urlencoded", retry_num=retry_num)
        assert answer.status == 200, answer
        await self.settle()
        return self.response(trigger)

    def response(self, key: str) -> Call:
        found = [c for c in self.fake.responses if c.method == f"response:{key}"]
        assert len(found) == 1, f"expected one response for {key}, got {len(found)}"
        return found[0]

    def responses_to(self, key: str) -> list[Call]:
        return [c for c in self.fake.responses if c.method == f"response:{key}"]

    # -- events --------------------------------------------------------------------------------------
    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> bytes:
        return json.dumps({"token": "legacy", "team_id": TEAM_ID, "api_app_id": "ACERCLE", "type": "event_callback",
                           "event_id": event_id or new_id("Ev"), "event_time": int(time.time()),
                           "event": event}).encode()

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    retry_num: int | None = None) -> Answer:
        answer = await self.post(self.event_body(event, event_id=event_id), "application/json",
                                 retry_num=retry_num)
        await self.settle()
        return answer

    # -- interactivity -------------------------------------------------------------------------------
    def action_payload(self, button: dict[str, Any], *, user: str = ALICE, channel: str = "CGENERAL",
                       channel_name: str = "general", action_ts: str | None = None) -> tuple[dict[str, Any], str]:
        key = new_id("act.")
        payload = {"type": "block_actions", "team": {"id": TEAM_ID, "domain": "cercle-test"},
                   "user": {"id": user, "username": USERS.get(user, (user, ""))[0].lower(), "team_id": TEAM_ID},
                   "api_app_id": "ACERCLE", "trigger_id": new_id("trig."),
                   "channel": {"id": channel, "name": channel_name},
                   "container": {"type": "message", "channel_id": channel, "is_ephemeral": True},
                   "response_url": self.fake.response_url(key),
                   "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b1",
                                "value": button.get("value", ""), "text": button["text"],
                                "action_ts": action_ts or f"{time.time():.6f}"}]}
        return payload, key

    async def click(self, button: dict[str, Any], *, user: str = ALICE, channel: str = "CGENERAL",
                    action_ts: str | None = None, retry_num: int | None = None) -> tuple[Answer, str]:
        """Click a rendered button; returns the ack and the response_url key of the click."""
        payload, key = self.action_payload(button, user=user, channel=channel, action_ts=action_ts)
        answer = await self.post_payload(payload, retry_num=retry_num)
        await self.settle()
        return answer, key

    async def post_payload(self, payload: dict[str, Any], *, retry_num: int | None = None) -> Answer:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(body, "application/x-www-form-urlencoded", retry_num=retry_num)

    async def submit(self, view: dict[str, Any], values: dict[str, str], *, user: str = ALICE,
                     view_id: str = "V000001") -> Answer:
        """Submit an opened modal with these field values; returns Cercle's ack (errors or nothing)."""
        inputs = [block for block in view["blocks"] if block["type"] == "input"]
        state = {"values": {b["block_id"]: {"value": _element_state(b["element"], values.get(b["block_id"]))}
                            for b in inputs}}
        payload = {"type": "view_submission", "team": {"id": TEAM_ID, "domain": "cercle-test"},
                   "user": {"id": user, "username": USERS.get(user, (user, ""))[0].lower(), "team_id": TEAM_ID},
                   "api_app_id": "ACERCLE", "trigger_id": new_id("trig."),
                   "view": {**view, "id": view_id, "hash": new_id("h"), "state": state}}
        answer = await self.post_payload(payload)
        await self.settle()
        return answer


def _element_state(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """What Slack puts in `view.state.values` for one input element."""
    kind = element["type"]
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": value}
    return {"type": kind, "value": value}


async def _tick() -> None:
    import asyncio

    for _ in range(5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


def slack_settings(base: Settings, fake: FakeSlack, *, socket_mode: bool = False) -> Settings:
    admins = (*base.admins, default_platforms().parse_account(f"slack:{TEAM_ID}:{ADMIN}"))
    # Socket Mode needs no signing secret: its tests run without one.
    section = SlackSettings(bot_token=BOT_TOKEN, signing_secret=None if socket_mode else SIGNING_SECRET,
                            app_token=APP_TOKEN if socket_mode else None, api_url=fake.api_url)
    return replace(base, admins=admins, http_host="127.0.0.1", http_port=0).with_section("slack", section)


@asynccontextmanager
async def running_slack(base: Settings, clock: Clock, engine: Engine, *, socket_mode: bool = False,
                        fake: FakeSlack | None = None) -> AsyncIterator[SlackHarness]:
    """The app as `cercle run` composes it for Slack (HTTP listener, adapter, delivery worker)."""
    fake = fake or FakeSlack(users=USERS)
    await fake.start()
    settings = slack_settings(base, fake, socket_mode=socket_mode)
    app = build(settings, clock=clock, migrate=False, engine=engine)
    http = HttpServer(engine, settings.http_host, settings.http_port)
    adapters = platform_adapters(app, http)
    assert [a.name for a in adapters] == ["slack"]
    adapter = adapters[0]
    assert isinstance(adapter, SlackAdapter)
    http.add_check(adapter.name, adapter.health)
    worker = DeliveryWorker(engine, {"slack": adapter.sender}, clock=clock, notifier=app.outbox.notifier,
                            guard=app.assembly.delivery_guards(app.settings))
    await http.start()
    await adapter.start()
    session = aiohttp.ClientSession()
    try:
        yield SlackHarness(app, fake, http, adapter, worker, session)
    finally:
        await session.close()
        await adapter.stop()
        await http.stop()
        await fake.stop()


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button of rendered blocks."""
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def button(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    found = [b for b in buttons(blocks) if b["text"]["text"] == label]
    assert found, f"no button {label!r} in {[b['text']['text'] for b in buttons(blocks)]}"
    return found[0]


def block_text(blocks: list[dict[str, Any]]) -> str:
    """All text of rendered blocks, in order (what a person reads)."""
    out: list[str] = []
    for block in blocks:
        if "text" in block and isinstance(block["text"], dict):
            out.append(block["text"]["text"])
        out.extend(f["text"] for f in block.get("fields", []))
        out.extend(e["text"] for e in block.get("elements", []) if e.get("type") in ("mrkdwn", "plain_text"))
        out.extend(e["text"]["text"] for e in block.get("elements", []) if e.get("type") == "button")
    return "\n".join(out)
