"""A smoke run of the acknowledgement load benchmark (tests/bench/bench_slack_acks.py) at a tiny size: the
same code path (signed clicks from a crowd in its own process, the fake Slack enforcing its limits in its
own) holds its promises: every click counted once, no 429, the posts' count updated in place."""

from __future__ import annotations

from tests.bench.bench_slack_acks import Sizes, run


async def test_the_ack_benchmark_counts_every_click_once_with_no_429() -> None:
    sizes = Sizes(channels=4, people=12, window=2.0)
    data = await run(sizes, "sqlite")
    assert data["counted"] == (12, 12) and data["clicks"] == 12
    assert data["loaded_429"] == 0 and data["baseline_429"] == 0
    assert 1 <= data["updates"] <= 3 * sizes.channels  # a few updates, not one per click
    assert "Acknowledged by" in data["last_update"]
    assert data["shortest_gap"] >= 4.5  # a message is updated at most once per interval
    assert len(data["idle"]) == 12 and len(data["all"]) == 12
    assert data["spread"] >= sizes.window / 2  # the crowd clicks over the window, not all at one instant
