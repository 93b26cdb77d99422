"""Slash-command ack latency: Cercle's Slack adapter against a bare Bolt app, same process, same run.

Signed `/cercle profile skills ...` requests (a command that writes to the database) go to Cercle on
loopback, and the same requests go to a bare `AsyncApp` that only acks and answers; the two are
interleaved so both see the same machine. Slack needs the ack within 3 s; the targets are a median
within 1.3x of the bare app and a p99 under 50 ms.

    python -m tests.bench.bench_slack_ack [--requests 400] [--database sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from sqlalchemy import func
from sqlmodel import select

from adapters.slack.app import make_client
from bot.clock import SystemClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import PersonSkill
from tests.bench.common import bench_args, bench_database, percentile, write_figures
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, USERS, running_slack, sign

SKILLS = ("python", "sql", "go", "rust", "design", "writing")


async def bare_bolt(fake: FakeSlack) -> tuple[web.AppRunner, str]:
    """The baseline: a Bolt app that acks at once and answers on the response_url, nothing else."""
    bolt = AsyncApp(client=make_client(BOT_TOKEN, fake.api_url), signing_secret=SIGNING_SECRET)

    @bolt.command("/cercle")
    async def answer(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"You said {body.get('text')}", response_type="ephemeral")

    async def endpoint(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/slack/events"


async def ack_seconds(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        await response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


async def run(requests: int, database: str) -> dict[str, Any]:
    with bench_database(database) as (url, engine):
        fake = FakeSlack(users=USERS)
        async with running_slack(Settings(database_url=url), SystemClock(), engine, fake=fake) as cercle:
            runner, bare_url = await bare_bolt(cercle.fake)
            users = list(USERS)
            cercle_times: list[float] = []
            bare_times: list[float] = []
            try:
                for i in range(requests + 20):
                    text = "profile skills " + ",".join(SKILLS[j % len(SKILLS)] for j in range(i % 5 + 1))
                    body, _trigger = cercle.command_body(text, user=users[i % len(users)])
                    # Alternate which goes first, so neither always meets a warmer machine.
                    order = [("cercle", cercle.url), ("bare", bare_url)]
                    if i % 2:
                        order.reverse()
                    for name, target in order:
                        seconds = await ack_seconds(cercle.session, target, body)
                        if i >= 20:  # warm-up: first users.info, first connections
                            (cercle_times if name == "cercle" else bare_times).append(seconds)
                    await cercle.settle()  # the reply went out: each command meets an idle app
                burst = await burst_acks(cercle, bare_url, users)
            finally:
                await runner.cleanup()
            with session_scope(engine) as session:
                written = session.exec(select(func.count()).select_from(PersonSkill)).one()
            answered = len(cercle.fake.responses)
    assert written > 0, "the benchmark command wrote nothing"
    return {"cercle": cercle_times, "bare": bare_times, "answered": answered, "burst": burst}


async def burst_acks(cercle: Any, bare_url: str, users: list[str], size: int = 20) -> dict[str, list[float]]:
    """Acks when `size` commands arrive at once (a channel reacting to an announcement)."""
    out: dict[str, list[float]] = {}
    for name, url in (("cercle", cercle.url), ("bare", bare_url)):
        bodies = [cercle.command_body("profile skills burst", user=users[i % len(users)])[0] for i in range(size)]
        out[name] = list(await asyncio.gather(*(ack_seconds(cercle.session, url, b) for b in bodies)))
        await cercle.settle()
    return out


def figure(name: str, value: float, baseline: float, target: str, met: bool) -> dict[str, Any]:
    return {"figure": name, "value": round(value, 3), "baseline": round(baseline, 3),
            "ratio": round(value / baseline, 3) if baseline else None, "target": target, "met": met}


def main() -> None:
    args = bench_args(__doc__, "requests", 400)
    data = asyncio.run(run(args.requests, args.database))
    ms = {k: [s * 1000 for s in data[k]] for k in ("cercle", "bare")}
    med_c, med_b = statistics.median(ms["cercle"]), statistics.median(ms["bare"])
    p99_c, p99_b = percentile(ms["cercle"], 99), percentile(ms["bare"], 99)
    burst_c = percentile([s * 1000 for s in data["burst"]["cercle"]], 99)
    burst_b = percentile([s * 1000 for s in data["burst"]["bare"]], 99)
    figures = [
        figure(f"median ack, ms ({args.database})", med_c, med_b, "≤ 1.3 × bare Bolt", med_c <= 1.3 * med_b),
        figure(f"p99 ack, ms ({args.database})", p99_c, p99_b, "< 50 ms", p99_c < 50),
        figure(f"max ack of 20 simultaneous commands, ms ({args.database})", burst_c, burst_b, "< 3000 ms (Slack)",
               burst_c < 3000),
    ]
    print(f"slack_ack: {len(ms['cercle'])} signed slash commands each to Cercle and to a bare Bolt app "
          f"({data['answered']} replies posted)")
    for f in figures:
        print(f"  {f['figure']}: Cercle {f['value']:.2f}, bare {f['baseline']:.2f}, ratio {f['ratio']:.2f} "
              f"(target {f['target']}: {'met' if f['met'] else 'NOT met'})")
    write_figures("slack_ack", args.database, figures)


if __name__ == "__main__":
    main()
