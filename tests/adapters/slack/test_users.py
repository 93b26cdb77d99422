"""users.info is called once per user and time-to-live, and together for simultaneous requests."""

from __future__ import annotations

import asyncio

from adapters.slack.app import make_client
from adapters.slack.users import UserDirectory
from bot.events import UserInfo
from tests.fakes.slack_api import FakeSlack


async def test_cached_for_the_ttl_then_read_again() -> None:
    fake = FakeSlack(users={"UBOB": ("Bérénice", "fr-FR")})
    await fake.start()
    now = [0.0]
    try:
        directory = UserDirectory(make_client("xoxb-t", fake.api_url), ttl=60, monotonic=lambda: now[0])
        results = await asyncio.gather(*(directory.info("UBOB") for _ in range(5)))
        assert results == [UserInfo("Bérénice", "fr-FR", found=True)] * 5
        assert len(fake.calls_to("users.info")) == 1
        now[0] = 59
        await directory.info("UBOB")
        assert len(fake.calls_to("users.info")) == 1
        now[0] = 61
        await directory.info("UBOB")
        assert len(fake.calls_to("users.info")) == 2
    finally:
        await fake.stop()


async def test_unknown_user_falls_back_to_the_name_slack_gave() -> None:
    fake = FakeSlack()
    await fake.start()
    try:
        directory = UserDirectory(make_client("xoxb-t", fake.api_url))
        assert await directory.info("UGONE", "gone") == UserInfo("gone", None, found=False)  # Slack says so
        assert await directory.info("UGONE", "gone") == UserInfo("gone", None, found=False)
        assert len(fake.calls_to("users.info")) == 2  # a failure is not cached
    finally:
        await fake.stop()
