"""Broadcast benchmark: a crisis announcement to 1,000 channels and 10,000 people through the outbox.

    .venv/bin/python -m tests.bench.bench_broadcast [--channels 1000] [--people 10000] [--rate 250]

The project's fake of Slack's Web API (`tests/fakes/slack_api.py`, in a process of its own) enforces
one message per second per channel and a workspace-wide budget (`--rate` messages per second),
answering 429 with Retry-After beyond them. We measure messages per second through the outbox and
the real Slack sender (enqueue, claim, pace, conversations.open for people, chat.postMessage with the
idempotency key in message metadata, record), the share of the rate the limits allow, duplicates
and losses (counted by metadata key in the fake's history); then the same with the limits off. The
baseline, in the same process, makes the same calls straight with the raw slack_sdk client (no
outbox; slack_sdk's own 429 retry handler where limits apply). Writes tests/bench/results/broadcast.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import func, select

from adapters.slack.app import make_client
from adapters.slack.rendering import render
from adapters.slack.sender import METADATA_TYPE, SlackSender
from bot.messages import Message
from bot.outbox import RateLimit, enqueue
from bot.outbox.worker import DeliveryWorker
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.tables import OutboxMessage
from tests.fakes.slack_serve import RemoteFake, fake_process

RESULTS = Path(__file__).parent / "results"
MESSAGE = Message(summary="Crisis C1: the Lyon site closes on Friday.", pin=True,
                  blocks=Message.text("The Lyon site closes on Friday. Buses will be provided.").blocks)


def targets(channels: int, people: int) -> list[tuple[str, str]]:
    return [("channel", f"C{i:05d}") for i in range(channels)] + [("dm", f"U{i:06d}") for i in range(people)]


def outbox_run(fake: RemoteFake, channels: int, people: int, limits: dict[str, RateLimit]) -> dict[str, Any]:
    """Enqueue the broadcast in one transaction, then deliver it with one worker; time the delivery."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        upgrade(engine)
        with session_scope(engine) as session:
            for kind, target in targets(channels, people):
                enqueue(session, platform="slack", workspace="T1", target_kind=kind, target_id=target,
                        message=MESSAGE, subject="crisis:1:ann:1")
        total = channels + people

        async def deliver() -> float:
            http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))  # keep-alive
            sender = SlackSender(make_client("xoxb-bench", fake.api_url, session=http))
            worker = DeliveryWorker(engine, {"slack": sender}, limits=limits, concurrency=256, batch_size=256,
                                    poll_interval=0.05)
            start = time.perf_counter()
            task = asyncio.create_task(worker.run())
            while True:
                await asyncio.sleep(0.1)
                if await asyncio.to_thread(pending, engine) == 0:
                    break
                if time.perf_counter() - start > 900:
                    break
            elapsed = time.perf_counter() - start
            worker.stop()
            await task
            await http.close()
            return elapsed

        elapsed = asyncio.run(deliver())
        with session_scope(engine) as session:
            ids = {f"cercle-outbox-{i}" for i in session.exec(select(OutboxMessage.id))}
        engine.dispose()
    posts = fake.posts_by_key()
    duplicates = sum(n - 1 for n in posts.values() if n > 1)
    losses = len(ids - set(posts))
    return {"rate": total / elapsed, "seconds": elapsed, "duplicates": duplicates, "losses": losses,
            "rate_limited": fake.rate_limited}


def pending(engine: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status != "sent")).one())


def raw_run(fake: RemoteFake, channels: int, people: int, *, retry_429: bool) -> dict[str, Any]:
    """The baseline: the sender's calls (conversations.open for people, post, pin) with the raw client,
    256 at a time, no outbox."""
    handlers: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=50)] if retry_429 else []

    async def go() -> float:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256))
        client = AsyncWebClient(token="xoxb-bench", base_url=fake.api_url, retry_handlers=handlers,
                                session=session)
        queue = list(enumerate(targets(channels, people)))
        rendered = render(MESSAGE)
        start = time.perf_counter()

        async def lane() -> None:
            while queue:
                i, (kind, channel) = queue.pop()
                if kind == "dm":
                    channel = str((await client.conversations_open(users=channel))["channel"]["id"])
                response = await client.chat_postMessage(
                    channel=channel, text=rendered.text, blocks=rendered.blocks, unfurl_links=False,
                    metadata={"event_type": METADATA_TYPE, "event_payload": {"key": f"raw-{i}"}})
                await client.pins_add(channel=channel, timestamp=response["ts"])

        await asyncio.gather(*(lane() for _ in range(256)))
        elapsed = time.perf_counter() - start
        await session.close()
        return elapsed

    elapsed = asyncio.run(go())
    total = channels + people
    posts = fake.posts_by_key()
    return {"rate": total / elapsed, "seconds": elapsed, "duplicates": sum(n - 1 for n in posts.values() if n > 1),
            "losses": total - len(posts), "rate_limited": fake.rate_limited}


def figure(name: str, value: float, baseline: float, target: float, met: bool) -> dict[str, Any]:
    return {"figure": name, "value": round(value, 3), "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 3) if baseline else None, "target": target, "met": met}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=250.0, help="the workspace budget, messages per second")
    args = parser.parse_args()
    allowed = min(args.rate, float(args.channels + args.people))  # one per second per target, at most
    limits = {"slack": RateLimit(per_target=1.0, per_second=args.rate)}

    runs: dict[str, dict[str, Any]] = {}
    for name, options, run in (
        ("limited", {"rate_per_channel": 1.0, "channel_burst": 2.0, "workspace_rate": args.rate},
         lambda f: outbox_run(f, args.channels, args.people, limits)),
        ("limited-raw", {"rate_per_channel": 1.0, "channel_burst": 2.0, "workspace_rate": args.rate},
         lambda f: raw_run(f, args.channels, args.people, retry_429=True)),
        ("unlimited", {}, lambda f: outbox_run(f, args.channels, args.people, {})),
        ("unlimited-raw", {}, lambda f: raw_run(f, args.channels, args.people, retry_429=False)),
    ):
        with fake_process(**options) as fake:
            runs[name] = run(fake)
        r = runs[name]
        print(f"{name:14s} {r['rate']:8.1f} msg/s  {r['seconds']:7.2f} s  duplicates {r['duplicates']}  "
              f"losses {r['losses']}  429s {r['rate_limited']}", flush=True)

    lim, lim_raw, free, free_raw = runs["limited"], runs["limited-raw"], runs["unlimited"], runs["unlimited-raw"]
    figures = [
        figure("messages/s under Slack's limits", lim["rate"], lim_raw["rate"], 0.9 * allowed,
               lim["rate"] >= 0.9 * allowed),
        figure("share of the rate the limits allow", lim["rate"] / allowed, lim_raw["rate"] / allowed, 0.9,
               lim["rate"] / allowed >= 0.9),
        figure("429 answers received under the limits", lim["rate_limited"], lim_raw["rate_limited"], 0,
               lim["rate_limited"] == 0),
        figure("duplicates", lim["duplicates"] + free["duplicates"],
               lim_raw["duplicates"] + free_raw["duplicates"], 0, lim["duplicates"] + free["duplicates"] == 0),
        figure("losses", lim["losses"] + free["losses"], lim_raw["losses"] + free_raw["losses"], 0,
               lim["losses"] + free["losses"] == 0),
        figure("messages/s with the limits off", free["rate"], free_raw["rate"], 500, free["rate"] >= 500),
    ]
    print(f"\nbroadcast to {args.channels} channels and {args.people} people; allowed rate {allowed:.0f} msg/s")
    print(f"{'figure':42s} {'value':>10s} {'baseline':>10s} {'ratio':>7s} {'target':>8s}  met")
    for f in figures:
        ratio = "-" if f["ratio"] is None else f"{f['ratio']:.2f}"
        print(f"{f['figure']:42s} {f['value']:10.2f} {f['baseline']:10.2f} {ratio:>7s} {f['target']:8.1f}  "
              f"{'yes' if f['met'] else 'NO'}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "broadcast.json"
    out.write_text(json.dumps({"name": "broadcast", "channels": args.channels, "people": args.people,
                               "allowed_rate": allowed, "figures": figures}, indent=2) + "\n")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
