"""A local fake of Slack's Web API, `response_url`s and the Socket Mode endpoint (aiohttp, port 0).

It records every call with its parameters, answers like Slack (`ok`, `error`, `ts`...), keeps each
conversation's history with message metadata (`conversations.history`, `include_all_metadata`), can
inject failures (429 with Retry-After, 500, a dropped connection, or either of the last two after the
message was posted, or an answer held back after posting, as a stuck request) and enforce rate limits
per channel and per workspace, so delivery and broadcast code meet Slack's behaviour on loopback,
including the lost answers that make a retry a duplicate:

    fake = FakeSlack(rate_per_channel=1.0, workspace_rate=50.0)
    await fake.start()
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.fakes.slack_oauth import SlackOAuth, basic_auth

TEAM_ID = "T0CERCLE"
BOT_USER_ID = "UBOTCERCLE"
BOT_ID = "BBOTCERCLE"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    token: str = ""
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] = field(default_factory=dict)  # what the fake answered (when it answered)
    peer: str = ""  # the caller's address and port: one per connection it opened


def peer_of(request: web.Request) -> str:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else ""


@dataclass
class Failure:
    kind: str  # "429", "500", "drop", "500-posted", "drop-posted", "stall-posted", or a Slack error code
    retry_after: float = 1.0  # 429: the Retry-After; "stall-posted": how long the answer is held


class _Bucket:
    """A token bucket: `rate` requests a second, bursts of `burst`."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def wait(self) -> float:
        """0 when a request may go now, else the seconds until it may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class FakeSlack:
    """Slack on loopback. `users` maps user id -> (display name, locale)."""

    def __init__(self, *, users: dict[str, tuple[str, str]] | None = None, rate_per_channel: float | None = None,
                 workspace_rate: float | None = None, channel_burst: float = 1.0,
                 workspace_burst: float | None = None, latency: float = 0.0,
                 enterprise_users: dict[str, tuple[str, tuple[str, ...]]] | None = None,
                 update_rate: float | None = None, update_burst: float = 5.0,
                 update_per_channel: float | None = None) -> None:
        self.users = dict(users or {})
        self.zones: dict[str, str] = {}  # user id -> the `tz` users.info gives
        self.enterprise_users = dict(enterprise_users or {})  # Grid: user id -> (enterprise id, its teams)
        self.calls: list[Call] = []
        self.responses: list[Call] = []  # posts to response_url
        self.failures: dict[str, list[Failure]] = defaultdict(list)
        self.channel_errors: dict[str, str] = {}  # channel id -> error code of chat.postMessage
        self.expired_responses: set[str] = set()  # response_url keys that answer 404 expired_url
        self.oauth = SlackOAuth()  # oauth.v2.access, and the workspace of each token it issued
        self.rate_per_channel = rate_per_channel
        self.workspace_rate = workspace_rate
        self._channel_buckets: dict[str, _Bucket] = {}
        self._workspace_bucket = (_Bucket(workspace_rate, workspace_burst or workspace_rate)
                                  if workspace_rate else None)
        self.channel_burst = channel_burst
        # chat.update has its own budget (Tier 3: about 50 a minute per workspace) and a per-channel one.
        self._update_bucket = _Bucket(update_rate, update_burst) if update_rate else None
        self.update_per_channel = update_per_channel
        self._update_channel_buckets: dict[str, _Bucket] = {}
        self.rate_limited = 0
        self.history: dict[str, list[dict[str, Any]]] = defaultdict(list)  # channel -> messages, oldest first
        self.latency = latency  # seconds each Web API answer takes
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.sockets: list[web.WebSocketResponse] = []
        self._socket_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._envelopes = itertools.count(1)
        self._socket_ready = asyncio.Event()
        self.changed = asyncio.Event()
        self._unstall = asyncio.Event()  # set by stop(): held answers go out, so the server can shut down

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/socket", self._socket)
        app.router.add_get("/_stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._unstall.set()
        for ws in list(self.sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{key}"

    # -- failure injection ------------------------------------------------------------------------
    def fail_next(self, method: str, kind: str, *, times: int = 1, retry_after: float = 1.0) -> None:
        """The next `times` calls of `method` fail: "429" (with Retry-After), "500", "drop", an error code, or
        (chat.postMessage) "500-posted" / "drop-posted": the message is posted, then the answer is lost;
        "stall-posted": the message is posted, then the answer is held for `retry_after` seconds."""
        self.failures[method].extend(Failure(kind, retry_after) for _ in range(times))

    # -- what was called ----------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[Call]:
        """chat.postMessage calls that posted a message (to `channel` if given), even when the answer was lost."""
        return [c for c in self.calls if c.method == "chat.postMessage" and c.answer.get("ok")
                and (channel is None or c.params.get("channel") == channel)]

    def posts_by_key(self) -> Counter[str]:
        """How many messages carry each outbox idempotency key (message metadata): 1 each, or a duplicate."""
        return Counter(str(((m.get("metadata") or {}).get("event_payload") or {}).get("key", ""))
                       for messages in list(self.history.values()) for m in list(messages))

    def updated(self, channel: str | None = None) -> list[Call]:
        """chat.update calls that changed a message (in `channel` if given), oldest first."""
        return [c for c in self.calls if c.method == "chat.update" and c.answer.get("ok")
                and (channel is None or c.params.get("channel") == channel)]

    @property
    def total_posts(self) -> int:
        return sum(len(messages) for messages in list(self.history.values()))

    async def _stats(self, request: web.Request) -> web.Response:
        """What was received, for a fake in another process (`tests/fakes/slack_serve.py`)."""
        return web.json_response({"posts": dict(self.posts_by_key()), "rate_limited": self.rate_limited,
                                  "calls": dict(Counter(c.method for c in self.calls)),
                                  "updates": [[c.params.get("channel"), c.params.get("ts"), c.at,
                                               c.params.get("blocks")] for c in self.updated()]})

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait until `predicate()` is true (checked after every request the fake receives)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the fake Slack did not see what was expected")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=min(remaining, 0.05))

    # -- the Web API ------------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                params.update(json.loads(raw))
            else:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        for key in ("blocks", "view", "metadata", "outputs"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await self._params(request)
        params.update(basic_auth(request.headers.get("Authorization", "")))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        call = Call(method, params, token, peer=peer_of(request))
        self.calls.append(call)
        self.changed.set()
        if self.latency:
            await asyncio.sleep(self.latency)
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            if failure.kind == "stall-posted":
                call.answer = self._answer(method, params, token)  # posted; the answer comes late, if ever
                self.changed.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._unstall.wait(), failure.retry_after)
                return web.json_response(call.answer)
            if failure.kind in ("500-posted", "drop-posted"):
                call.answer = self._answer(method, params, token)  # posted; the client never learns it
                self.changed.set()
                if failure.kind == "500-posted":
                    return web.Response(status=500, text="internal error")
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            if failure.kind == "429":
                self.rate_limited += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(math.ceil(failure.retry_after))})
            if failure.kind == "500":
                return web.Response(status=500, text="internal error")
            if failure.kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=500)
            return web.json_response({"ok": False, "error": failure.kind})
        if method == "chat.postMessage":
            wait = self._rate_wait(str(params.get("channel", "")))
            if wait > 0:
                self.rate_limited += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(max(1, math.ceil(wait)))})
        if method == "chat.update":
            wait = self._update_wait(str(params.get("channel", "")))
            if wait > 0:
                self.rate_limited += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                         headers={"Retry-After": str(max(1, math.ceil(wait)))})
        answer = self._answer(method, params, token)
        call.answer = answer
        return web.json_response(answer)

    def _update_wait(self, channel: str) -> float:
        buckets = [self._update_bucket] if self._update_bucket is not None else []
        if self.update_per_channel:
            buckets.append(self._update_channel_buckets.setdefault(channel, _Bucket(self.update_per_channel,
                                                                                    self.channel_burst)))
        wait = max((b.wait() for b in buckets), default=0.0)
        if wait == 0:
            for bucket in buckets:
                bucket.take()
        return wait

    def _rate_wait(self, channel: str) -> float:
        """A message spends a token of its channel and of the workspace, only when both have one."""
        buckets = []
        if self.rate_per_channel:
            buckets.append(self._channel_buckets.setdefault(channel, _Bucket(self.rate_per_channel,
                                                                             self.channel_burst)))
        if self._workspace_bucket is not None:
            buckets.append(self._workspace_bucket)
        wait = max((b.wait() for b in buckets), default=0.0)
        if wait == 0:
            for bucket in buckets:
                bucket.take()
        return wait

    def _answer(self, method: str, params: dict[str, Any], token: str) -> dict[str, Any]:
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "oauth.v2.access":
            return self.oauth.access(params)
        if not token.startswith(("xoxb-", "xwfp-")):  # xwfp-: a workflow step's own token (function_executed)
            return {"ok": False, "error": "not_authed"}
        refused = self.oauth.refusal(token)
        if refused:
            return {"ok": False, "error": refused}
        if method == "auth.test" and self.oauth.auth_test(token):
            return self.oauth.auth_test(token) or {}
        if method in ("functions.completeSuccess", "functions.completeError"):
            if not params.get("function_execution_id"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method == "auth.test":
            return {"ok": True, "url": "https://cercle-test.slack.com/", "team": "Cercle test", "user": "cercle",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method == "users.info":
            user_id = str(params.get("user", ""))
            if user_id not in self.users:
                return {"ok": False, "error": "user_not_found"}
            name, locale = self.users[user_id]
            user: dict[str, Any] = {"id": user_id, "team_id": TEAM_ID, "name": name.lower(), "real_name": name,
                                    "profile": {"display_name": name, "real_name": name}}
            if params.get("include_locale") in (True, "true", "1", 1):
                user["locale"] = locale
            if user_id in self.zones:
                user["tz"] = self.zones[user_id]
            if user_id in self.enterprise_users:
                enterprise, teams = self.enterprise_users[user_id]
                user["team_id"] = teams[0] if teams else TEAM_ID
                user["enterprise_user"] = {"id": user_id, "enterprise_id": enterprise, "enterprise_name": "Grid",
                                           "is_admin": False, "is_owner": False, "teams": list(teams)}
            return {"ok": True, "user": user}
        if method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            message = {"type": "message", "ts": self._next_ts(), "text": params.get("text"),
                       "blocks": params.get("blocks"), "bot_id": BOT_ID}
            if isinstance(params.get("metadata"), dict):
                message["metadata"] = params["metadata"]
            self.history[channel].append(message)
            return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}
        if method == "conversations.history":
            return self._history(params)
        if method == "chat.update":
            return self._update(params)
        if method == "chat.postEphemeral":
            channel = str(params.get("channel", ""))
            if channel in self.channel_errors:
                return {"ok": False, "error": self.channel_errors[channel]}
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.lstrip("UW")}}
        if method == "pins.add":
            return {"ok": True}
        if method == "chat.getPermalink":
            channel, ts = str(params.get("channel", "")), str(params.get("message_ts", "")).replace(".", "")
            return {"ok": True, "channel": channel,
                    "permalink": f"https://cercle-test.slack.com/archives/{channel}/p{ts}"}
        if method == "views.open":
            if not params.get("trigger_id"):
                return {"ok": False, "error": "invalid_trigger_id"}
            view = dict(params.get("view") or {})
            view["id"] = f"V{next(self._views):06d}"
            return {"ok": True, "view": view}
        if method == "views.publish":
            if str(params.get("user_id", "")) not in self.users:
                return {"ok": False, "error": "user_not_found"}
            view = dict(params.get("view") or {})
            view["id"] = f"V{next(self._views):06d}"
            return {"ok": True, "view": view}
        return {"ok": False, "error": "unknown_method"}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, after `oldest`, `limit` a page (cursor: an offset); metadata only when asked for."""
        channel = str(params.get("channel", ""))
        if channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        oldest = float(params.get("oldest") or 0)
        messages = [m for m in reversed(self.history.get(channel, [])) if float(m["ts"]) > oldest]
        start = int(params.get("cursor") or 0)
        limit = min(999, int(params.get("limit") or 100))
        page = messages[start:start + limit]
        if params.get("include_all_metadata") not in (True, "true", "1", 1):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(messages)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace a message's text and blocks in place (its metadata stays, as on Slack)."""
        channel, ts = str(params.get("channel", "")), str(params.get("ts", ""))
        if channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        for message in self.history.get(channel, []):
            if message["ts"] == ts:
                message["text"], message["blocks"] = params.get("text"), params.get("blocks")
                return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.match_info["key"]
        self.changed.set()
        if key in self.expired_responses:  # Slack: a response_url lives 30 minutes, 5 uses
            return web.Response(status=404, text="expired_url")
        self.responses.append(Call(f"response:{key}", body, peer=peer_of(request)))
        return web.Response(text="ok")

    # -- Socket Mode --------------------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": "ACERCLE"}, "debug_info": {"host": "fake"}})
        self._socket_ready.set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                future = self._socket_acks.pop(str(data.get("envelope_id", "")), None)
                if future is not None and not future.done():
                    future.set_result(data)
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def socket_connected(self, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._socket_ready.wait(), timeout)

    async def socket_send(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0,
                          timeout: float = 5.0) -> dict[str, Any]:
        """Send an envelope (`slash_commands`, `events_api`, `interactive`) and return the app's ack."""
        await self.socket_connected(timeout)
        envelope_id = f"env-{next(self._envelopes)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = future
        await self.sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                          "accepts_response_payload": kind != "events_api",
                                          "retry_attempt": retry_attempt, "retry_reason": ""})
        return await asyncio.wait_for(future, timeout)
