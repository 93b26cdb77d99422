"""What Enterprise Grid keying costs a command: signed `/cercle profile show` round trips (request to the
reply on the response_url) from a workspace of a Grid organisation and from a plain workspace, interleaved
in the same run, plus the first Grid sight of people who had an account in a workspace before (their
accounts are joined then).

    python -m tests.bench.bench_slack_grid [--requests 200] [--database sqlite|postgres]
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bot.clock import SystemClock
from bot.settings import Settings
from tests.bench.common import bench_args, bench_database, percentile, write_figures
from tests.support.slack_grid import ALICE, BOB, LYON, OLD, PARIS, GridSlack, running_grid

PLAIN = "UPLAIN01"


async def timed(grid: GridSlack, text: str, *, user: str, team: str, in_grid: bool) -> float:
    started = time.perf_counter()
    await grid.command(text, user=user, team=team, grid=in_grid)
    return time.perf_counter() - started


async def run(requests: int, database: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"grid": [], "plain": [], "first_sight": []}
    with bench_database(database) as (url, engine):
        async with running_grid(Settings(database_url=url), SystemClock(), engine) as grid:
            grid.fake.users[PLAIN] = ("Pat", "en-US")  # in no organisation
            # First sight: people known in two workspaces before (two persons each), then seen in Grid.
            grid.before_grid()
            for user in (ALICE, BOB, OLD):
                for team in (PARIS, LYON):
                    await grid.command("profile skills kafka", user=user, team=team, grid=False)
            grid.in_grid()
            for user in (ALICE, BOB, OLD):
                out["first_sight"].append(await timed(grid, "profile show", user=user, team=LYON, in_grid=True))
            # Steady state: Grid requests against plain-workspace ones (another team, never in Grid).
            for i in range(requests + 20):
                order = [("grid", True), ("plain", False)]
                if i % 2:
                    order.reverse()
                for name, in_grid in order:
                    team = (PARIS, LYON)[i % 2] if in_grid else "TPLAIN01"
                    seconds = await timed(grid, "profile show", user=ALICE if in_grid else PLAIN, team=team,
                                          in_grid=in_grid)
                    if i >= 20:
                        out[name].append(seconds)
    return out


def main() -> None:
    args = bench_args(__doc__, "requests", 200)
    data = asyncio.run(run(args.requests, args.database))
    ms = {k: [s * 1000 for s in v] for k, v in data.items()}
    figures: list[dict[str, Any]] = [
        {"figure": f"median round trip, Grid, ms ({args.database})", "value": round(statistics.median(ms["grid"]), 2)},
        {"figure": f"median round trip, plain workspace, ms ({args.database})",
         "value": round(statistics.median(ms["plain"]), 2)},
        {"figure": f"p95 round trip, Grid, ms ({args.database})", "value": round(percentile(ms["grid"], 95), 2)},
        {"figure": f"p95 round trip, plain workspace, ms ({args.database})",
         "value": round(percentile(ms["plain"], 95), 2)},
        {"figure": f"first Grid sight of a person known in 2 workspaces (join + merge), max ms ({args.database})",
         "value": round(max(ms["first_sight"]), 2)},
    ]
    print(f"slack_grid: {len(ms['grid'])} Grid and {len(ms['plain'])} plain `profile show` round trips")
    for f in figures:
        print(f"  {f['figure']}: {f['value']}")
    write_figures("slack_grid", args.database, figures)


if __name__ == "__main__":
    main()
