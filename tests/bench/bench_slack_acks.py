"""Acknowledgements under load: a crisis announced to 1,000 channels and 5,000 people, who all press
Acknowledge within 60 s while the broadcast is still being delivered.

    python -m tests.bench.bench_slack_acks [--quick] [--channels 1000] [--people 5000] [--window 60]
                                           [--database sqlite|postgres]

Everything is real but Slack: `cercle`'s HTTP listener and Bolt app get signed `block_actions` requests
(the Acknowledge button of the posted announcement, from 5,000 users spread over the window); the delivery
worker posts the announcement through the real Slack sender, and the edit worker updates the posts' count
in place (`chat.update`). The fake Slack Web API runs in a process of its own and enforces Slack's limits
with 429s: one message a second per channel, a workspace budget for `chat.postMessage`, and Tier 3 for
`chat.update` (50 a minute, bursts of 5, one a second per channel); short bursts of 2 per channel.

Baseline, same process and database: the same broadcast (another crisis, same channels) without clicks
first; then, after the loaded run, idle acknowledgements (no broadcast running) for the ack latency.
Figures: ack p99 during the broadcast (target < 100 ms), broadcast time (with clicks vs without), acks
counted (each once), 429s from the fake (0), chat.update calls and the shortest gap between two updates of
one message (at most one per `bot.outbox.live.INTERVAL`). Writes tests/bench/results/slack_acks.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import insert
from sqlmodel import col, func, select

from adapters.slack.platform import SlackSettings
from adapters.slack.rendering import render
from bot.app import Application, build, default_platforms, delivery_worker, platform_adapters
from bot.clock import SystemClock
from bot.heap import settle_heap
from bot.http import HttpServer
from bot.messages import Message
from bot.outbox import RateLimit
from bot.outbox.live import INTERVAL
from bot.settings import Settings
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.tables import (
    Account,
    Channel,
    Community,
    CommunityChannel,
    CrisisAck,
    CrisisAnnouncement,
    Membership,
    OutboxMessage,
    Person,
)
from tests.bench.common import Figure, write_result
from tests.fakes.slack_api import TEAM_ID
from tests.fakes.slack_serve import RemoteFake, fake_process
from tests.support.databases import PostgresDatabase
from tests.support.slack import ADMIN, BOT_TOKEN, SIGNING_SECRET, SlackHarness, block_text, buttons, sign

POST_RATE = 20.0  # chat.postMessage per second the outbox is paced at (the fake allows 25)
IDLE_CLICKS = 300


@dataclass
class Sizes:
    channels: int
    people: int
    window: float


class _Urls:
    """What SlackHarness needs of a fake: response URLs (the fake runs in another process)."""

    def __init__(self, remote: RemoteFake) -> None:
        self.base = remote.api_url.removesuffix("/api/")

    def response_url(self, key: str) -> str:
        return f"{self.base}/response/{key}"


def user_id(i: int) -> str:
    return f"U{i:07d}"


def populate(app: Application, sizes: Sizes) -> None:
    """5,000 people who use Slack, members of one community linked to 1,000 channels (bulk inserts)."""
    with session_scope(app.engine) as session:
        community = Community(slug="everyone", name="Everyone")
        session.add(community)
        session.flush()
        session.execute(insert(Person), [{"display_name": f"Person {i}"} for i in range(sizes.people)])
        ids = list(session.exec(select(Person.id).order_by(col(Person.id))))[-sizes.people:]
        session.execute(insert(Account), [{"platform": "slack", "workspace": TEAM_ID, "user_id": user_id(i),
                                           "display_name": f"Person {i}", "platform_locale": "en-US",
                                           "person_id": pid} for i, pid in enumerate(ids)])
        session.execute(insert(Membership), [{"community_id": community.id, "person_id": pid} for pid in ids])
        session.execute(insert(Channel), [{"platform": "slack", "workspace": TEAM_ID, "channel_id": f"C{i:05d}",
                                           "name": f"team-{i}", "direct": False} for i in range(sizes.channels)])
        channel_ids = list(session.exec(select(Channel.id).where(col(Channel.channel_id).like("C0%"))))
        session.execute(insert(CommunityChannel), [{"community_id": community.id, "channel_id": cid}
                                                   for cid in channel_ids])


async def command(harness: SlackHarness, text: str) -> None:
    body, _trigger = harness.command_body(text, user=ADMIN)
    answer = await harness.post(body, "application/x-www-form-urlencoded")
    assert answer.status == 200, answer
    await harness.settle(30)


def rows_of(app: Application, crisis: int) -> tuple[int, int, str]:
    """(rows, sent rows, a body) of the announcement of `crisis`."""
    with session_scope(app.engine) as session:
        subject = f"crisis:{crisis}:ann:1"
        total = session.exec(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.subject == subject)).one()
        sent = session.exec(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.subject == subject, OutboxMessage.status == "sent")).one()
        body = session.exec(select(OutboxMessage.body).where(OutboxMessage.subject == subject)).first() or ""
        return int(total), int(sent), body


async def broadcast(harness: SlackHarness, crisis: int, channels: int) -> tuple[float, str]:
    """Declare and announce `crisis`; returns when the announce command was answered and a post's body."""
    await command(harness, f'crisis declare "Bench {crisis}" --audience everyone')
    started = time.perf_counter()
    await command(harness, f'crisis announce C{crisis} "The Lyon site closes on Friday. Buses are provided."')
    total, _sent, body = await asyncio.to_thread(rows_of, harness.app, crisis)
    assert total == channels, f"{total} rows for {channels} channels"
    return started, body


def ack_button(body: str, crisis: int) -> dict[str, Any]:
    """The Acknowledge button of a post's outbox body, found by its command: a delivered row keeps its buttons'
    commands but not their words."""
    found = [b for b in buttons(render(Message.from_json(body)).blocks) if b.get("value") == f"crisis ack C{crisis}"]
    assert found, f"no Acknowledge button for C{crisis}"
    return found[0]


def sent_count(app: Application, crisis: int) -> int:
    with session_scope(app.engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.subject == f"crisis:{crisis}:ann:1", OutboxMessage.status == "sent")).one())


async def delivered(harness: SlackHarness, crisis: int, channels: int, timeout: float = 900) -> float:
    """When the last post of the broadcast went out (to 0.25 s: the bench's own polling is kept light, it
    competes with the bot it measures for the interpreter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if await asyncio.to_thread(sent_count, harness.app, crisis) == channels:  # never block the loop
            return time.perf_counter()
        await asyncio.sleep(0.25)
    raise TimeoutError(f"the broadcast of C{crisis} did not finish")


def click_payload(ack_button: dict[str, Any], user: str, response_base: str, n: int) -> bytes:
    """A signed-to-be `block_actions` body: `user` clicks the Acknowledge button in C00000, as Slack sends it."""
    payload = {"type": "block_actions", "team": {"id": TEAM_ID, "domain": "cercle-test"},
               "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID}, "api_app_id": "ACERCLE",
               "trigger_id": f"trig.{n}", "channel": {"id": "C00000", "name": "team-0"},
               "container": {"type": "message", "channel_id": "C00000", "is_ephemeral": False},
               "response_url": f"{response_base}/response/click-{user}-{n}",
               "actions": [{"type": "button", "action_id": ack_button["action_id"], "block_id": "b1",
                            "value": ack_button.get("value", ""), "text": ack_button["text"],
                            "action_ts": f"{time.time():.6f}.{n}"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


async def _click_all(job: dict[str, Any]) -> list[tuple[float, float]]:
    """The clicking crowd (in a process of its own, as Slack is): each user clicks once at their moment."""
    spread = random.Random(13)  # one generator: each user's moment is a new draw over the window
    moments = sorted(spread.uniform(0, job["window"]) for _ in job["users"])
    out: list[tuple[float, float]] = []
    start = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=600, sock_connect=600)  # a late ack is measured, not dropped
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        async def one(n: int, user: str, at: float) -> None:
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            body = click_payload(job["button"], user, job["responses"], n)
            sent = time.perf_counter()
            try:
                async with session.post(job["url"], data=body, headers={
                        "Content-Type": "application/x-www-form-urlencoded", **sign(body)}) as response:
                    await response.read()
                    ok = response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            out.append((sent - start, time.perf_counter() - sent if ok else -1.0))

        await asyncio.gather(*(one(n, u, at) for n, (u, at) in enumerate(zip(job["users"], moments, strict=True))))
    return out


async def clicks(harness: SlackHarness, ack_button: dict[str, Any], users: list[str], window: float,
                 responses: str) -> list[tuple[float, float]]:
    """Run the crowd in a child process; returns (sent at, seconds to the ack) on this process's clock."""
    job = {"url": harness.url, "button": ack_button, "users": users, "window": window, "responses": responses}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.bench.bench_slack_acks", "--clicker",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    start = time.perf_counter()
    out, _err = await proc.communicate(json.dumps(job).encode())
    assert proc.returncode == 0, "the clicking crowd failed"
    return [(start + sent, seconds) for sent, seconds in json.loads(out)]


async def settle(harness: SlackHarness, timeout: float = 900) -> None:
    assert await harness.adapter.conversation.wait_idle(timeout), "clicks still being handled"


def acks_counted(app: Application, crisis: int) -> tuple[int, int]:
    with session_scope(app.engine) as session:
        announcement = session.exec(select(CrisisAnnouncement).where(CrisisAnnouncement.crisis_id == crisis)).one()
        rows = session.exec(select(func.count()).select_from(CrisisAck)
                            .where(CrisisAck.announcement_id == announcement.id)).one()
        people = session.exec(select(func.count(func.distinct(CrisisAck.person_id)))
                              .where(CrisisAck.announcement_id == announcement.id)).one()
        return int(rows), int(people)


def full_collection_seconds() -> float:
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


class CollectorPauses:
    """The longest garbage-collector pass while open: no thread runs during one, so acks wait for it."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)

    def close(self) -> None:
        gc.callbacks.remove(self._seen)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def update_gaps(updates: list[list[Any]]) -> tuple[int, float]:
    """(messages updated, shortest seconds between two updates of one message)."""
    by_message: dict[tuple[str, str], list[float]] = defaultdict(list)
    for channel, ts, at, _text in updates:
        by_message[(channel, ts)].append(float(at))
    gaps = [b - a for times in by_message.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)]
    return len(by_message), min(gaps) if gaps else float("inf")


async def run(sizes: Sizes, database: str) -> dict[str, Any]:
    users = {user_id(i): (f"Person {i}", "en-US") for i in range(sizes.people)}
    users[ADMIN] = ("Ada Admin", "en-US")
    # Slack: about one message a second per channel, "bursts over that limit for short periods" allowed.
    options = {"users": users, "rate_per_channel": 1.0, "channel_burst": 2.0, "workspace_rate": POST_RATE * 1.25,
               "workspace_burst": POST_RATE * 1.25, "update_rate": 50 / 60, "update_burst": 5.0,
               "update_per_channel": 1.0}
    pg = PostgresDatabase() if database == "postgres" else None
    with tempfile.TemporaryDirectory() as folder, fake_process(**options) as remote:
        url = pg.url if pg is not None else f"sqlite:///{folder}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        admins = (default_platforms().parse_account(f"slack:{TEAM_ID}:{ADMIN}"),)
        settings = replace(Settings(database_url=url), admins=admins, http_host="127.0.0.1", http_port=0) \
            .with_section("slack", SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                                                 api_url=remote.api_url))
        app = build(settings, clock=SystemClock(), migrate=False, engine=engine)
        populate(app, sizes)
        http = HttpServer(engine, "127.0.0.1", 0)
        (adapter,) = platform_adapters(app, http)
        worker = delivery_worker(app, {"slack": adapter.sender},
                                 limits={"slack": RateLimit(per_target=1.0, per_second=POST_RATE)})
        await http.start()
        await adapter.start()
        unfrozen_pass = full_collection_seconds()  # what a full pass costs before the freeze: the baseline
        settle_heap()  # as `cercle run` does once started (bot/heap.py)
        pauses = CollectorPauses()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        harness = SlackHarness(app, _Urls(remote), http, adapter, worker, session)  # type: ignore[arg-type]
        running = asyncio.create_task(worker.run())
        try:
            # Baseline: the same broadcast, nobody clicks.
            started, _body = await broadcast(harness, 1, sizes.channels)
            baseline_seconds = await delivered(harness, 1, sizes.channels) - started
            baseline_429 = remote.rate_limited
            baseline_updates = len(remote.stats()["updates"])
            # Loaded: everyone clicks Acknowledge while the broadcast goes out.
            started, body = await broadcast(harness, 2, sizes.channels)
            ack = ack_button(body, 2)
            clicking = asyncio.create_task(clicks(harness, ack, list(users)[:sizes.people], sizes.window,
                                                  _Urls(remote).base))
            loaded_seconds = await delivered(harness, 2, sizes.channels) - started
            broadcast_end = started + loaded_seconds
            timings = await clicking
            await settle(harness)  # every click's command has run (a backlog when the machine is slower)
            await asyncio.sleep((INTERVAL * 2).total_seconds())  # the last count goes out
            stats = remote.stats()
            loaded_429 = remote.rate_limited - baseline_429
            counted = acks_counted(app, 2)
            # Idle acknowledgements (no broadcast running): the ack latency baseline.
            idle_ack = ack_button(rows_of(app, 1)[2], 1)
            idle = []
            for u in list(users)[:min(IDLE_CLICKS, sizes.people)]:
                payload, _key = harness.action_payload(idle_ack, user=u, channel="C00000")
                idle.append((await harness.post_payload(payload)).seconds)
                await asyncio.sleep(sizes.window / sizes.people)
            await settle(harness)
        finally:
            pauses.close()
            worker.stop()
            await asyncio.gather(running, return_exceptions=True)
            await session.close()
            await adapter.stop()
            await http.stop()
            engine.dispose()
            if pg is not None:
                pg.drop()
    failed = sum(1 for _sent, s in timings if s < 0)  # no ack at all (Slack would show the user an error)
    timings = [(sent, s) for sent, s in timings if s >= 0]
    during = [s for sent, s in timings if sent <= broadcast_end]
    updates = list(stats["updates"][baseline_updates:])
    messages_updated, shortest_gap = update_gaps(updates)
    latest: dict[tuple[str, str], str] = {}
    for channel, ts, _at, blocks in updates:
        latest[(channel, ts)] = block_text(blocks or [])
    return {"baseline_seconds": baseline_seconds, "loaded_seconds": loaded_seconds, "baseline_429": baseline_429,
            "loaded_429": loaded_429, "during": during, "all": [s for _sent, s in timings], "idle": idle,
            "counted": counted, "clicks": len(timings) + failed, "failed": failed, "updates": len(updates),
            "messages_updated": messages_updated, "shortest_gap": shortest_gap,
            "longest_pause": pauses.longest, "unfrozen_pass": unfrozen_pass,
            "spread": max(sent for sent, _s in timings) - min(sent for sent, _s in timings) if timings else 0.0,
            "last_update": block_text(updates[-1][3] or []) if updates else "",
            "final_shown": sum(1 for text in latest.values()
                               if f"Acknowledged by {sizes.people} of {sizes.people} " in text)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100 channels, 500 people, 10 s: a smoke run")
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clicker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clicker:
        print(json.dumps(asyncio.run(_click_all(json.loads(sys.stdin.read())))))
        return
    sizes = Sizes(100, 500, 10.0) if args.quick else Sizes(args.channels, args.people, args.window)
    data = asyncio.run(run(sizes, args.database))
    print(report(data, sizes, args.database))


def report(data: dict[str, Any], sizes: Sizes, database: str) -> str:
    ms = {k: [s * 1000 for s in data[k]] for k in ("during", "all", "idle")}
    p99_during, p99_idle = percentile(ms["during"], 99), percentile(ms["idle"], 99)
    rows, people = data["counted"]
    gap = data["shortest_gap"]
    interval = INTERVAL.total_seconds()
    figures = [
        Figure(f"ack p99 during the broadcast, ms ({len(ms['during'])} clicks, {database})", p99_during, p99_idle,
               "< 100 ms", p99_during < 100),
        Figure(f"ack median during the broadcast, ms ({database})", statistics.median(ms["during"] or [0]),
               statistics.median(ms["idle"] or [0]), "informative", True),
        Figure(f"ack p99 over all {data['clicks']} clicks, ms ({database})", percentile(ms["all"], 99), p99_idle,
               "< 100 ms", percentile(ms["all"], 99) < 100),
        Figure(f"broadcast to {sizes.channels} channels, s (with clicks vs without)", data["loaded_seconds"],
               data["baseline_seconds"], "≤ 1.25 × without clicks",
               data["loaded_seconds"] <= 1.25 * data["baseline_seconds"]),
        Figure("acknowledgements counted (each person once)", rows, data["clicks"], "= clicks",
               rows == people == data["clicks"] == sizes.people),
        Figure("clicks without an ack (connection refused or timed out)", data["failed"], 0, "0",
               data["failed"] == 0),
        Figure("429s from the fake Slack (loaded run vs baseline run)", data["loaded_429"], data["baseline_429"],
               "0", data["loaded_429"] == 0),
        Figure(f"chat.update calls ({data['messages_updated']} messages updated, vs clicks)", data["updates"],
               data["clicks"], "a handful per message, paced (Tier 3)", data["updates"] <= data["clicks"] / 10),
        Figure("longest garbage-collector pause during the run, ms (vs a full pass before the start-up freeze)",
               data["longest_pause"] * 1000, data["unfrozen_pass"] * 1000, "informative", True),
        Figure("shortest gap between two updates of one message, s", min(gap, 9999.0), interval,
               f"≥ {interval:g} s", gap >= interval - 0.5),
    ]
    write_result("slack_acks" if database == "sqlite" else f"slack_acks_{database}", figures)
    return (f"{data['final_shown']} of {sizes.channels} posts showed the final count "
            f"({sizes.people} of {sizes.people}) when the run ended; the last update read: "
            f"{data['last_update'].splitlines()[-1] if data['last_update'] else '(none)'}")


if __name__ == "__main__":
    main()
