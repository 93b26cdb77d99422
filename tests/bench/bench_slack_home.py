"""The Slack Home tab: time from `app_home_opened` to `views.publish`, and the cost of a refresh round.

N Slack people join a community linked to #general; a crisis is announced to it; each person opens the
Home tab (signed events through the real Bolt app, the fake Web API on loopback). Then one change by
someone else (a new announcement) is followed by one debounced refresh round, which republishes every
view (each changed); a second round with nothing changed republishes none.

    python -m tests.bench.bench_slack_home [--people 100] [--database sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bot.clock import SystemClock
from bot.settings import Settings
from tests.bench.common import bench_args, bench_database, percentile, write_figures
from tests.fakes.slack_api import FakeSlack
from tests.support.slack import ADMIN, USERS, running_slack


async def run(people: int, database: str) -> dict[str, Any]:
    users = {**USERS, **{f"UP{i:05d}": (f"Person {i}", "en-US") for i in range(people)}}
    with bench_database(database) as (url, engine):
        async with running_slack(Settings(database_url=url), SystemClock(), engine,
                                 fake=FakeSlack(users=users)) as slack:
            home = slack.adapter.home
            home.debounce, home.sweep = 3600.0, 3600.0  # rounds are run by hand below
            await slack.command('community create ops "Operations"', user=ADMIN)
            await slack.command("community link ops", user=ADMIN)
            ids = [u for u in users if u.startswith("UP")]
            for uid in ids:
                await slack.command("community join ops", user=uid)
            await slack.command('crisis declare "Outage" --audience ops', user=ADMIN)
            await slack.command('crisis announce C1 "The VPN is down."', user=ADMIN)
            opened: list[float] = []
            for uid in ids:
                started = time.perf_counter()
                await slack.event({"type": "app_home_opened", "user": uid, "channel": "D" + uid, "tab": "home"})
                opened.append(time.perf_counter() - started)
            before = len(slack.fake.calls_to("views.publish"))
            await slack.command('crisis announce C1 "Back at noon."', user=ADMIN)
            started = time.perf_counter()
            changed = await home.refresh()
            changed_seconds = time.perf_counter() - started
            started = time.perf_counter()
            unchanged = await home.refresh()
            unchanged_seconds = time.perf_counter() - started
            published = len(slack.fake.calls_to("views.publish")) - before
    return {"opened": opened, "changed": changed, "changed_seconds": changed_seconds, "unchanged": unchanged,
            "unchanged_seconds": unchanged_seconds, "published": published}


def main() -> None:
    args = bench_args(__doc__, "people", 100)
    data = asyncio.run(run(args.people, args.database))
    ms = [s * 1000 for s in data["opened"]]
    figures = [
        {"figure": f"Home tab opened → views.publish, median ms ({args.database})",
         "value": round(statistics.median(ms), 1)},
        {"figure": f"Home tab opened → views.publish, p95 ms ({args.database})", "value": round(percentile(ms, 95), 1)},
        {"figure": f"refresh round after a change, {args.people} views, s ({args.database})",
         "value": round(data["changed_seconds"], 2), "republished": data["changed"]},
        {"figure": f"refresh round with nothing changed, {args.people} views, s ({args.database})",
         "value": round(data["unchanged_seconds"], 2), "republished": data["unchanged"]},
    ]
    assert data["changed"] == args.people and data["unchanged"] == 0 and data["published"] == args.people
    for f in figures:
        print(f"  {f['figure']}: {f['value']}" + (f" ({f['republished']} republished)" if "republished" in f else ""))
    write_figures("slack_home", args.database, figures)


if __name__ == "__main__":
    main()
