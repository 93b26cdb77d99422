"""Calls to Slack share kept-alive connections: a burst of clicks costs a users.info and an answer each, not a
new TCP connection each (slack_sdk and Bolt's `respond` open and close one per call when not given a session;
that CPU is what acknowledgements waited for under load, tests/bench/bench_slack_acks.py)."""

from __future__ import annotations

from tests.support.slack import ADMIN, ALICE, SlackHarness, block_text, button


async def test_twenty_clicks_from_twenty_people_reuse_a_few_connections(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    join = button((await slack.command("community info writers", user=ALICE)).params["blocks"], "Join")
    people = [f"U{i:07d}" for i in range(20)]
    keys = [(await slack.click(join, user=user))[1] for user in people]
    answers = [slack.responses_to(key) for key in keys]
    assert all(len(a) == 1 and "Welcome to Writers" in block_text(a[0].params["blocks"]) for a in answers)
    lookups = [c for c in slack.fake.calls_to("users.info") if c.params.get("user") in people]
    assert len(lookups) >= 20  # new people: looked up
    peers = {c.peer for c in lookups} | {a[0].peer for a in answers}
    assert all(peers) and len(peers) <= 3, f"{len(peers)} connections for 40 calls"


async def test_the_connections_are_closed_when_the_adapter_stops(slack: SlackHarness) -> None:
    await slack.command("help", user=ADMIN)
    connections = slack.adapter._connections
    assert connections is not None and not connections.closed
    await slack.adapter.stop()
    assert connections.closed
