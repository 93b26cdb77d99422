"""A small local fake of Slack's Web API for the outbox (chat.postMessage, conversations.open/history),
with Slack's rate limits (per channel, per workspace, HTTP 429 + Retry-After) and injected failures,
and a Slack-like sender over slack_sdk that uses message metadata as its idempotency key.

The full fake of the Slack adapter lives with the adapter; this one serves the delivery tests and the
broadcast benchmark.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DeliveryError, Outgoing

METADATA_TYPE = "cercle_outbox"


@dataclass
class Bucket:
    """A token bucket: `capacity` at once, `rate` per second."""

    capacity: float
    rate: float
    tokens: float = 0.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FakeSlackWeb:
    """`failures`: what the next chat.postMessage calls answer, in order: "429", "500" (nothing posted),
    "500-posted" (posted, but the answer is an error), then normal service."""

    def __init__(self, *, per_channel: float = 0.0, per_second: float = 0.0, latency: float = 0.0,
                 failures: list[str] | None = None) -> None:
        self.per_channel = per_channel  # messages per second per channel (0: no limit)
        self.per_second = per_second  # messages per second in the workspace (0: no limit)
        self.latency = latency
        self.failures = list(failures or [])
        self.posts: Counter[str] = Counter()  # idempotency key -> times posted
        self.history: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self._channel_buckets: dict[str, Bucket] = {}
        self._workspace = Bucket(max(1.0, per_second), per_second) if per_second else None
        self._seq = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def total_posts(self) -> int:
        return sum(self.posts.values())

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _form(self, request: web.Request) -> dict[str, Any]:
        data: dict[str, Any] = dict(request.query)
        if request.method == "POST":
            if request.content_type == "application/json":
                data.update(await request.json())
            else:
                data.update(await request.post())
        return data

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        data = await self._form(request)
        if method == "auth.test":
            return web.json_response({"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"})
        if method == "_stats":
            return web.json_response({"posts": dict(self.posts), "rate_limited": self.rate_limited,
                                      "calls": dict(self.calls)})
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D" + str(data.get("users", ""))}})
        if method == "conversations.history":
            messages = list(reversed(self.history.get(str(data.get("channel")), [])))[: int(data.get("limit", 100))]
            return web.json_response({"ok": True, "messages": messages, "has_more": False})
        if method == "chat.postMessage":
            return self._post(data)
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    def _post(self, data: dict[str, Any]) -> web.Response:
        channel = str(data.get("channel", ""))
        if channel.startswith(("U", "W")):  # a user id: Slack posts in the app's conversation with them
            channel = "D" + channel
        if not channel:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        limited = False
        if self._workspace is not None and not self._workspace.take():
            limited = True
        if self.per_channel and not limited:
            bucket = self._channel_buckets.setdefault(channel, Bucket(2.0, self.per_channel))
            limited = not bucket.take()
        failure = self.failures.pop(0) if self.failures else ""
        if limited or failure == "429":
            self.rate_limited += 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if failure == "500":
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        metadata = data.get("metadata")
        if isinstance(metadata, str):
            import json

            metadata = json.loads(metadata)
        key = str(((metadata or {}).get("event_payload") or {}).get("key", ""))
        self._seq += 1
        ts = f"{int(time.time())}.{self._seq:06d}"
        self.posts[key] += 1
        self.history[channel].append({"type": "message", "ts": ts, "text": data.get("text", ""),
                                      "metadata": metadata})
        if failure == "500-posted":
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        return web.json_response({"ok": True, "channel": channel, "ts": ts})


class RemoteFake:
    """A FakeSlackWeb in a process of its own (the benchmark: no GIL shared with the bot); the same
    read-only view of what it received, fetched over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _stats(self) -> dict[str, Any]:
        import json
        import urllib.request

        with urllib.request.urlopen(self.url + "_stats", timeout=30) as resp:
            return dict(json.loads(resp.read()))

    @property
    def posts(self) -> Counter[str]:
        return Counter(self._stats()["posts"])

    @property
    def total_posts(self) -> int:
        return sum(self._stats()["posts"].values())

    @property
    def rate_limited(self) -> int:
        return int(self._stats()["rate_limited"])


@contextmanager
def fake_process(**options: Any) -> Iterator[RemoteFake]:
    import json
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "tests.support.slack_web", json.dumps(options)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError("the fake Slack Web API did not start")
        yield RemoteFake(url)
    finally:
        proc.terminate()
        proc.wait(10)


def _serve_forever(options: dict[str, Any]) -> None:
    async def go() -> None:
        fake = FakeSlackWeb(**options)
        print(await fake.start(), flush=True)
        await asyncio.Event().wait()

    asyncio.run(go())


@contextmanager
def running_fake(**options: Any) -> Iterator[FakeSlackWeb]:
    """The fake served from a thread of its own (for tests whose workers run elsewhere)."""
    fake = FakeSlackWeb(**options)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class SlackLikeSender:
    """Posts with chat.postMessage, tagging each message with its outbox idempotency key (metadata);
    a row in doubt is first looked for in the conversation's history, so it is never posted twice."""

    platform = "slack"

    def __init__(self, base_url: str, token: str = "xoxb-test") -> None:
        self.base_url = base_url
        self.token = token
        self._client: AsyncWebClient | None = None
        self._dm: dict[str, str] = {}

    @property
    def client(self) -> AsyncWebClient:
        """One HTTP session for every call (keep-alive), made in the running loop. No automatic
        retries: a retried post after a lost answer is exactly the duplicate to avoid."""
        if self._client is None:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
            self._client = AsyncWebClient(token=self.token, base_url=self.base_url, retry_handlers=[], timeout=15,
                                          session=session)
        return self._client

    async def _dm_channel(self, item: Outgoing) -> str:
        if item.target_id not in self._dm:
            resp = await self.client.conversations_open(users=item.target_id)
            self._dm[item.target_id] = str(resp["channel"]["id"])
        return self._dm[item.target_id]

    async def _already_posted(self, channel: str, key: str) -> str | None:
        resp = await self.client.conversations_history(channel=channel, limit=200, include_all_metadata=True)
        for message in resp.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == key:
                return str(message["ts"])
        return None

    async def send(self, item: Outgoing) -> str:
        try:
            # A user id as channel posts in the app's conversation with them, without a conversations.open.
            channel = item.target_id
            if item.in_doubt:
                try:
                    where = channel if item.target_kind == "channel" else await self._dm_channel(item)
                    found = await self._already_posted(where, item.idempotency_key)
                except Exception as exc:  # still in doubt: never post without having looked
                    raise DeliveryError(f"history lookup: {type(exc).__name__}", uncertain=True) from None
                if found is not None:
                    return f"{where}:{found}"
            resp = await self.client.chat_postMessage(
                channel=channel, text=item.message.plain_text(),
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": item.idempotency_key}})
            return f"{resp.get('channel', channel)}:{resp['ts']}"
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
            if status == 429:
                return _raise(DeliveryError("ratelimited",
                                            retry_after=float(exc.response.headers.get("Retry-After", "1"))))
            if status >= 500:
                return _raise(DeliveryError(f"slack {status}", uncertain=True))
            permanent = error in ("channel_not_found", "not_in_channel", "is_archived", "account_inactive")
            return _raise(DeliveryError(error or f"slack {status}", permanent=permanent))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(type(exc).__name__, uncertain=True) from None

    async def close(self) -> None:
        if self._client is not None and self._client.session is not None:
            await self._client.session.close()


def _raise(error: DeliveryError) -> str:
    raise error


if __name__ == "__main__":
    import json
    import sys

    _serve_forever(json.loads(sys.argv[1]))
