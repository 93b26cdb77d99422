"""The Slack sender's side of exactly-once delivery: the key in message metadata, the bounded history
lookup of a row in doubt, no re-post inside slack_sdk, and which failures leave a row in doubt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import make_client
from adapters.slack.sender import LOOKUP_MARGIN, METADATA_TYPE, SlackSender
from bot.messages import Message
from bot.outbox import DeliveryError, Outgoing
from tests.fakes.slack_api import FakeSlack


def _item(row: int, *, kind: str = "channel", target: str = "CNEWS", in_doubt: bool = False) -> Outgoing:
    return Outgoing(id=row, platform="slack", workspace="T0CERCLE", target_kind=kind, target_id=target,
                    message=Message.text(f"news {row}"), attempts=1, subject="", in_doubt=in_doubt,
                    created_at=datetime.now(UTC))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


def _sender(fake: FakeSlack) -> SlackSender:
    return SlackSender(make_client("xoxb-t", fake.api_url))  # the adapter's client, with its retry handlers


async def test_each_post_carries_the_rows_idempotency_key(fake: FakeSlack) -> None:
    ts = await _sender(fake).send(_item(7))
    (post,) = fake.posted("CNEWS")
    assert post.params["metadata"] == {"event_type": METADATA_TYPE, "event_payload": {"key": "cercle-outbox-7"}}
    assert post.answer["ts"] == ts and fake.calls_to("conversations.history") == []  # not in doubt: no lookup


async def test_a_row_in_doubt_is_found_deep_in_the_history_and_not_posted_again(fake: FakeSlack) -> None:
    sender = _sender(fake)
    item = _item(1)
    ts = await sender.send(item)
    for n in range(150):  # a busy channel: the message is on the second page
        await sender.send(_item(100 + n))
    assert await sender.send(replace(item, attempts=2, in_doubt=True)) == ts
    assert fake.posts_by_key()["cercle-outbox-1"] == 1 and len(fake.posted("CNEWS")) == 151
    lookups = fake.calls_to("conversations.history")
    assert len(lookups) == 2 and lookups[1].params["cursor"]
    assert item.created_at is not None
    assert float(lookups[0].params["oldest"]) == pytest.approx(item.created_at.timestamp() - LOOKUP_MARGIN)


async def test_a_row_in_doubt_that_never_arrived_is_posted_once(fake: FakeSlack) -> None:
    sender = _sender(fake)
    await sender.send(_item(2))
    await sender.send(_item(3, in_doubt=True))
    assert fake.posts_by_key() == {"cercle-outbox-2": 1, "cercle-outbox-3": 1}
    (lookup,) = fake.calls_to("conversations.history")
    assert lookup.params["include_all_metadata"] in ("1", "true")


async def test_posts_are_never_retried_inside_slack_sdk_and_end_in_doubt(fake: FakeSlack) -> None:
    sender = _sender(fake)
    for kind in ("500", "drop", "500-posted", "drop-posted"):
        fake.fail_next("chat.postMessage", kind)
        with pytest.raises(DeliveryError) as failed:
            await sender.send(_item(10))
        assert failed.value.uncertain and not failed.value.permanent and failed.value.retry_after is None
    assert len(fake.calls_to("chat.postMessage")) == 4  # one call each: a retry could be a duplicate
    assert fake.posts_by_key() == {"cercle-outbox-10": 2}  # what the two "-posted" answers hid


async def test_a_timeout_is_in_doubt() -> None:
    fake = FakeSlack(latency=2.0)
    await fake.start()
    try:
        sender = SlackSender(AsyncWebClient(token="xoxb-t", base_url=fake.api_url, timeout=1))
        with pytest.raises(DeliveryError) as slow:
            await sender.send(_item(11))
        assert slow.value.uncertain
    finally:
        await fake.stop()


async def test_reads_keep_their_retries_and_a_failed_lookup_keeps_the_row_in_doubt(fake: FakeSlack) -> None:
    sender = _sender(fake)
    ts = await sender.send(_item(20, kind="dm", target="UBOB"))
    fake.fail_next("conversations.history", "500")  # retried by the read client's handler
    assert await sender.send(_item(20, kind="dm", target="UBOB", in_doubt=True)) == ts
    assert fake.calls_to("conversations.history")[0].params["channel"] == "DBOB"
    fake.fail_next("conversations.history", "drop", times=10)  # beyond the handlers' retries
    with pytest.raises(DeliveryError) as lost:
        await sender.send(_item(21, kind="dm", target="UBOB", in_doubt=True))
    assert lost.value.uncertain
    fake.failures.clear()
    fake.fail_next("conversations.open", "drop", times=10)
    with pytest.raises(DeliveryError) as unopened:
        await sender.send(_item(22, kind="dm", target="UNEW", in_doubt=True))
    assert unopened.value.uncertain  # nothing was looked at: still in doubt
    fake.failures.clear()
    fake.fail_next("conversations.history", "429", retry_after=3)
    with pytest.raises(DeliveryError) as limited:
        await sender.send(_item(21, kind="dm", target="UBOB", in_doubt=True))
    assert limited.value.retry_after == 3 and limited.value.uncertain
    assert fake.posts_by_key() == {"cercle-outbox-20": 1}


async def test_refusals_are_not_in_doubt(fake: FakeSlack) -> None:
    sender = _sender(fake)
    fake.fail_next("chat.postMessage", "429", retry_after=2)
    with pytest.raises(DeliveryError) as limited:
        await sender.send(_item(30))
    assert limited.value.retry_after == 2 and not limited.value.uncertain
    fake.channel_errors["CGONE"] = "is_archived"
    with pytest.raises(DeliveryError) as gone:
        await sender.send(_item(31, target="CGONE"))
    assert gone.value.permanent and not gone.value.uncertain


async def test_a_channel_whose_history_the_bot_cannot_read_is_posted_to(fake: FakeSlack) -> None:
    """chat:write.public posts where the bot is no member; conversations.history says not_in_channel."""
    fake.fail_next("conversations.history", "not_in_channel")
    await _sender(fake).send(_item(40, in_doubt=True))
    assert fake.posts_by_key() == {"cercle-outbox-40": 1}


async def test_the_lookup_window_starts_before_the_row_was_written(fake: FakeSlack) -> None:
    sender = _sender(fake)
    await sender.send(_item(50))
    later = replace(_item(50, in_doubt=True), created_at=datetime.now(UTC) + timedelta(seconds=2 * LOOKUP_MARGIN))
    await sender.send(later)  # a message from before the window is not this row's: posted
    assert fake.posts_by_key() == {"cercle-outbox-50": 2}
