"""What the OAuth install costs a request: slash-command acks of Cercle installed through OAuth (Bolt's
authorize reads the workspace's installation from the database and opens its sealed token before the
ack) against Cercle with one SLACK_BOT_TOKEN, interleaved in one run; and the time of a whole install
(GET /slack/install, the redirect, `oauth.v2.access` and `auth.test` on the fake, the sealed save).

    python -m tests.bench.bench_slack_oauth [--requests 300] [--database sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.clock import SystemClock
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from tests.bench.bench_slack_ack import ack_seconds
from tests.bench.common import bench_args, percentile, write_figures
from tests.support.databases import PostgresDatabase
from tests.support.slack import USERS, running_slack
from tests.support.slack_oauth import running_slack_oauth

TEAMS = tuple(f"TBENCH{i:03d}" for i in range(20))


async def run(requests: int, database: str) -> dict[str, Any]:
    pgs: list[PostgresDatabase] = []
    with tempfile.TemporaryDirectory() as folder:
        urls = []
        for name in ("token", "oauth"):
            if database == "postgres":
                pgs.append(PostgresDatabase())
                urls.append(pgs[-1].url)
            else:
                urls.append(f"sqlite:///{folder}/{name}.db")
        engines = [make_engine(u) for u in urls]
        for engine in engines:
            upgrade(engine)
        try:
            async with AsyncExitStack() as stack:
                token = await stack.enter_async_context(
                    running_slack(Settings(database_url=urls[0]), SystemClock(), engines[0]))
                oauth = await stack.enter_async_context(
                    running_slack_oauth(Settings(database_url=urls[1]), SystemClock(), engines[1], teams=TEAMS))
                installs = []
                for i, team in enumerate(TEAMS):
                    started = time.perf_counter()
                    await oauth.install(team, f"Bench {i}")
                    installs.append(time.perf_counter() - started)
                times: dict[str, list[float]] = {"token": [], "oauth": []}
                users = list(USERS)
                for i in range(requests + 20):
                    body, _trigger = token.command_body("profile skills python", user=users[i % len(users)])
                    fields = dict(parse_qsl(oauth.command_body("profile skills python",
                                                               user=users[i % len(users)])[0].decode()))
                    fields["team_id"] = TEAMS[i % len(TEAMS)]
                    oauth_body = urlencode(fields).encode()
                    order = [("token", token, body), ("oauth", oauth, oauth_body)]
                    if i % 2:
                        order.reverse()
                    for name, harness, sent in order:
                        seconds = await ack_seconds(harness.session, harness.url, sent)
                        if i >= 20:
                            times[name].append(seconds)
                        await harness.settle()
                answered = len(oauth.fake.responses)
        finally:
            for engine in engines:
                engine.dispose()
            for pg in pgs:
                pg.drop()
    return {**times, "installs": installs, "answered": answered}


def main() -> None:
    args = bench_args(__doc__, "requests", 300)
    data = asyncio.run(run(args.requests, args.database))
    ms = {k: [s * 1000 for s in data[k]] for k in ("token", "oauth", "installs")}
    figures = [
        {"figure": f"median ack, ms ({args.database})", "oauth": round(statistics.median(ms["oauth"]), 2),
         "token": round(statistics.median(ms["token"]), 2)},
        {"figure": f"p99 ack, ms ({args.database})", "oauth": round(percentile(ms["oauth"], 99), 2),
         "token": round(percentile(ms["token"], 99), 2)},
        {"figure": f"install round trip, median ms ({args.database}, {len(TEAMS)} workspaces)",
         "oauth": round(statistics.median(ms["installs"]), 2), "token": None},
    ]
    print(f"slack_oauth: {len(ms['oauth'])} signed slash commands each, OAuth mode over {len(TEAMS)} "
          f"workspaces vs one SLACK_BOT_TOKEN ({data['answered']} OAuth replies)")
    for f in figures:
        print(f"  {f['figure']}: OAuth {f['oauth']}" + (f", token {f['token']}" if f["token"] is not None else ""))
    write_figures("slack_oauth", args.database, figures)


if __name__ == "__main__":
    main()
