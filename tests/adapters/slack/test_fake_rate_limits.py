"""The fake Slack's rate limits, as the sender meets them (the crisis broadcast benchmark relies on them)."""

from __future__ import annotations

import pytest

from adapters.slack.app import make_client
from adapters.slack.sender import SlackSender
from bot.messages import Message
from bot.outbox import DeliveryError, Outgoing
from tests.fakes.slack_api import FakeSlack


def _item(channel: str) -> Outgoing:
    return Outgoing(id=1, platform="slack", workspace="T0CERCLE", target_kind="channel", target_id=channel,
                    message=Message.text("hello"), attempts=1, subject="")


async def test_per_channel_and_workspace_limits_answer_429_with_retry_after() -> None:
    fake = FakeSlack(rate_per_channel=1.0, workspace_rate=3.0)
    await fake.start()
    try:
        sender = SlackSender(make_client("xoxb-t", fake.api_url))
        assert await sender.send(_item("C1"))
        with pytest.raises(DeliveryError) as refused:
            await sender.send(_item("C1"))  # a second message in the same second, same channel
        assert refused.value.retry_after == 1.0 and not refused.value.permanent
        assert await sender.send(_item("C2"))
        assert await sender.send(_item("C3"))
        with pytest.raises(DeliveryError) as workspace:
            await sender.send(_item("C4"))  # the workspace's budget of 3 is spent
        assert workspace.value.retry_after is not None and workspace.value.retry_after >= 1
        assert fake.rate_limited == 2 and len(fake.posted()) == 3
    finally:
        await fake.stop()


async def test_permanent_errors_are_permanent() -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        sender = SlackSender(make_client("xoxb-t", fake.api_url))
        for code in ("channel_not_found", "not_in_channel", "is_archived"):
            fake.channel_errors["CX"] = code
            with pytest.raises(DeliveryError) as refused:
                await sender.send(_item("CX"))
            assert refused.value.permanent and refused.value.reason == f"slack: {code}"
        fake.fail_next("conversations.open", "user_not_found")
        dm = Outgoing(id=2, platform="slack", workspace="T0CERCLE", target_kind="dm", target_id="UGONE",
                      message=Message.text("hi"), attempts=1, subject="")
        with pytest.raises(DeliveryError) as gone:
            await sender.send(dm)
        assert gone.value.permanent
    finally:
        await fake.stop()
