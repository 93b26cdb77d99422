"""Shortcut and form latency through the real Bolt app on loopback, against the fake Web API.

- open: a signed global shortcut ("Open a consultation") until the fake Slack receives `views.open`
  (Slack's trigger id lives 3 s);
- refuse: a `view_submission` with a closing date in the past until Cercle's HTTP answer (the errors
  shown in the form; Slack waits 3 s for it);
- accept: a valid submission (the consultation is created and queued) until the HTTP answer.

    python -m tests.bench.bench_slack_forms [--rounds 100] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.databases import PostgresDatabase
from tests.support.slack import ADMIN, SlackHarness, running_slack
from tests.support.slack_forms import shortcut_payload, submit

RESULTS = Path(__file__).parent / "results"


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


async def _open(slack: SlackHarness) -> tuple[float, dict[str, Any]]:
    before = len(slack.fake.calls_to("views.open"))
    started = time.perf_counter()
    await slack.post_payload(shortcut_payload("cercle_consult_open", user=ADMIN))
    await slack.fake.wait_for(lambda: len(slack.fake.calls_to("views.open")) > before)
    return time.perf_counter() - started, dict(slack.fake.calls_to("views.open")[-1].params["view"])


async def measure(database_url: str, rounds: int) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    async with running_slack(Settings(database_url=database_url), SystemClock(), engine) as slack:
        await slack.command('community create cafe "Café"', user=ADMIN, channel="CCAFE", channel_name="cafe")
        await slack.command("community link cafe", user=ADMIN, channel="CCAFE", channel_name="cafe")
        opened, refused, accepted = [], [], []
        for n in range(rounds):
            seconds, view = await _open(slack)
            opened.append(seconds)
            values = {"slug": "cafe", "question": f"Question {n}?", "options-1": "Yes", "options-2": "No"}
            answer = await submit(slack, view, {**values, "closes": "2020-01-01"}, user=ADMIN)
            assert json.loads(answer.body)["response_action"] == "errors"
            refused.append(answer.seconds)
            answer = await submit(slack, view, values, user=ADMIN)
            assert answer.status == 200 and not answer.body
            accepted.append(answer.seconds)
    engine.dispose()
    return {"rounds": rounds, "open_form": _summary(opened), "refused_submission": _summary(refused),
            "accepted_submission": _summary(accepted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    if args.database == "postgres":
        pg = PostgresDatabase()
        try:
            result = asyncio.run(measure(pg.url, args.rounds))
        finally:
            pg.drop()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(measure(f"sqlite:///{tmp}/bench.db", args.rounds))
    result["database"] = args.database
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"slack_forms_{args.database}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
