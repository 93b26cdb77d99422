"""Outbox deliveries to Slack through the adapter's sender: channels, direct messages, pins,
rate limits (429 + Retry-After), server errors, dropped connections, permanent refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import col, select

from bot.clock import FrozenClock
from bot.messages import Message
from bot.outbox import Outgoing
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text


def _rows(slack: SlackHarness) -> list[OutboxMessage]:
    with session_scope(slack.app.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


async def _share_in_linked_channel(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    await slack.command("community link writers", user=ADMIN, channel="CWRITERS", channel_name="writers")
    await slack.command('share writers https://example.org/guide "Style guide"', user=ADMIN)


async def test_a_shared_resource_reaches_the_linked_channel(slack: SlackHarness) -> None:
    await _share_in_linked_channel(slack)
    assert await slack.worker.run_once() == 1
    posted = slack.fake.posted("CWRITERS")
    assert len(posted) == 1
    assert "Style guide — <https://example.org/guide>" in block_text(posted[0].params["blocks"])  # a link
    assert posted[0].params["text"] == "New resource in Writers: Style guide"
    (row,) = _rows(slack)
    assert row.status == "sent" and row.platform_message_id == posted[0].answer["ts"]


async def test_a_role_grant_sends_a_direct_message_in_the_recipients_language(slack: SlackHarness) -> None:
    await slack.command("profile show", user=BOB)  # Bérénice has used Cercle from Slack
    await slack.command(f"role grant <@{BOB}> communicator", user=ADMIN)
    await slack.worker.run_once()
    (opened,) = slack.fake.calls_to("conversations.open")
    assert opened.params["users"] == BOB
    (posted,) = slack.fake.posted()
    assert posted.params["channel"] == "D" + BOB.lstrip("U")
    assert "vous a donné le rôle communicant" in block_text(posted.params["blocks"])


async def test_rate_limited_then_delivered_after_retry_after(slack: SlackHarness, clock: FrozenClock) -> None:
    await _share_in_linked_channel(slack)
    slack.fake.fail_next("chat.postMessage", "429", retry_after=7)
    await slack.worker.run_once()
    (row,) = _rows(slack)
    assert row.status == "pending" and row.next_attempt_at == clock.now() + timedelta(seconds=7)
    assert "rate limited" in (row.last_error or "")
    assert await slack.worker.run_once() == 0  # not before Retry-After
    clock.advance(timedelta(seconds=7))
    assert await slack.worker.run_once() == 1
    assert len(slack.fake.posted("CWRITERS")) == 1
    assert _rows(slack)[0].status == "sent"


async def test_server_error_then_success_is_one_message(slack: SlackHarness, clock: FrozenClock) -> None:
    await _share_in_linked_channel(slack)
    slack.fake.fail_next("chat.postMessage", "500")
    await slack.worker.run_once()
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # never re-posted inside slack_sdk
    assert slack.fake.posted("CWRITERS") == [] and _rows(slack)[0].status == "pending"
    clock.advance(timedelta(minutes=1))
    await slack.worker.run_once()
    (lookup,) = slack.fake.calls_to("conversations.history")  # in doubt: looked first, found nothing
    assert lookup.params["channel"] == "CWRITERS" and lookup.params["include_all_metadata"] in ("1", "true")
    assert len(slack.fake.calls_to("chat.postMessage")) == 2
    assert len(slack.fake.posted("CWRITERS")) == 1
    assert _rows(slack)[0].status == "sent"


async def test_server_errors_that_persist_go_back_to_the_outbox(slack: SlackHarness, clock: FrozenClock) -> None:
    await _share_in_linked_channel(slack)
    slack.fake.fail_next("chat.postMessage", "500", times=3)
    await slack.worker.run_once()
    (row,) = _rows(slack)
    assert row.status == "pending" and row.attempts == 1 and "HTTP 500" in (row.last_error or "")
    for attempt in (2, 3):
        clock.advance(timedelta(minutes=1))
        await slack.worker.run_once()
        (row,) = _rows(slack)
        assert row.status == "pending" and row.attempts == attempt and "HTTP 500" in (row.last_error or "")
    clock.advance(timedelta(minutes=1))
    await slack.worker.run_once()
    assert _rows(slack)[0].status == "sent" and len(slack.fake.posted("CWRITERS")) == 1


async def test_dropped_connection_is_retried(slack: SlackHarness, clock: FrozenClock) -> None:
    await _share_in_linked_channel(slack)
    slack.fake.fail_next("chat.postMessage", "drop")
    await slack.worker.run_once()
    assert slack.fake.posted("CWRITERS") == [] and _rows(slack)[0].status == "pending"
    clock.advance(timedelta(minutes=1))
    await slack.worker.run_once()
    assert len(slack.fake.posted("CWRITERS")) == 1
    assert _rows(slack)[0].status == "sent"


async def test_an_answer_lost_after_posting_is_not_posted_again(slack: SlackHarness, clock: FrozenClock) -> None:
    """500 or a dropped connection after Slack posted: the next attempt finds the message by its metadata."""
    slack.fake.fail_next("chat.postMessage", "500-posted")
    slack.fake.fail_next("chat.postMessage", "drop-posted")
    await _share_in_linked_channel(slack)
    await slack.command('share writers https://example.org/more "More"', user=ADMIN)
    await slack.worker.run_once()
    rows = _rows(slack)
    assert [r.status for r in rows] == ["pending", "pending"] and all(r.claimed_until for r in rows)
    clock.advance(timedelta(minutes=1))
    await slack.worker.run_once()
    rows = _rows(slack)
    posted = slack.fake.posted("CWRITERS")
    assert [r.status for r in rows] == ["sent", "sent"] and len(posted) == 2
    assert [r.platform_message_id for r in rows] == [c.answer["ts"] for c in posted]
    assert sorted(slack.fake.posts_by_key().values()) == [1, 1]
    assert len(slack.fake.calls_to("conversations.history")) == 2


async def test_a_direct_message_in_doubt_is_looked_for_in_the_dm_channel(slack: SlackHarness,
                                                                         clock: FrozenClock) -> None:
    await slack.command("profile show", user=BOB)
    slack.fake.fail_next("chat.postMessage", "drop-posted")
    await slack.command(f"role grant <@{BOB}> communicator", user=ADMIN)
    await slack.worker.run_once()
    clock.advance(timedelta(minutes=1))
    await slack.worker.run_once()
    (lookup,) = slack.fake.calls_to("conversations.history")
    assert lookup.params["channel"] == "D" + BOB.lstrip("U")
    (posted,) = slack.fake.posted()
    assert _rows(slack)[0].status == "sent" and _rows(slack)[0].platform_message_id == posted.answer["ts"]


async def test_a_channel_that_is_gone_fails_for_good(slack: SlackHarness, clock: FrozenClock) -> None:
    await _share_in_linked_channel(slack)
    slack.fake.channel_errors["CWRITERS"] = "channel_not_found"
    await slack.worker.run_once()
    (row,) = _rows(slack)
    assert row.status == "failed" and row.last_error == "slack: channel_not_found"
    clock.advance(timedelta(hours=1))
    assert await slack.worker.run_once() == 0


async def test_pinned_messages_are_pinned(slack: SlackHarness) -> None:
    item = Outgoing(id=1, platform="slack", workspace="T0CERCLE", target_kind="channel", target_id="CNEWS",
                    message=Message(summary="Site closure", pin=True, blocks=()), attempts=1, subject="")
    ts = await slack.adapter.sender.send(item)
    (pin,) = slack.fake.calls_to("pins.add")
    assert pin.params == {"channel": "CNEWS", "timestamp": ts}
    assert len(slack.fake.posted("CNEWS")) == 1
    again = await slack.adapter.sender.send(replace(item, attempts=2, in_doubt=True))  # found, pinned again
    assert again == ts and len(slack.fake.posted("CNEWS")) == 1
    assert [c.params for c in slack.fake.calls_to("pins.add")] == [pin.params] * 2


async def test_private_replies_go_to_the_caller_only(slack: SlackHarness) -> None:
    await slack.command("profile skills python", user=ALICE)
    assert slack.fake.posted() == []
