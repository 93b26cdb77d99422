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
        gone = UserInfo("gone", None, found=False, guessed=True)  # Slack says so: its name is the request's
        assert await directory.info("UGONE", "gone") == gone
        assert await directory.info("UGONE", "gone") == gone
        assert len(fake.calls_to("users.info")) == 2  # a failure is not cached
    finally:
        await fake.stop()


async def test_grid_organisation_read_from_users_info_and_asked_again_once_when_it_is_new() -> None:
    fake = FakeSlack(users={"WANA": ("Ana", "en-US"), "UPAT": ("Pat", "en-US")})
    await fake.start()
    now = [0.0]
    try:
        directory = UserDirectory(make_client("xoxb-t", fake.api_url), ttl=60, monotonic=lambda: now[0])
        before = await directory.info("WANA")  # the workspace is not in an organisation yet: cached so
        assert before.also_known_as == () and directory.grid("WANA") is None
        fake.enterprise_users["WANA"] = ("E1", ("T1", "T2"))
        # A request from the organisation: the cached answer predates it, so users.info is asked again.
        grid = await directory.grid_for("WANA", "E1")
        assert grid is not None and (grid.enterprise_id, grid.user_id, grid.teams) == ("E1", "WANA", ("T1", "T2"))
        assert (await directory.info("WANA")).also_known_as == (("T1", "WANA"), ("T2", "WANA"))
        assert len(fake.calls_to("users.info")) == 2
        # Someone users.info places in no organisation is asked again at most once per TTL.
        await directory.info("UPAT")
        for _ in range(3):
            assert await directory.grid_for("UPAT", "E1") is None
        assert len(fake.calls_to("users.info")) == 4
        assert await directory.grid_for("UPAT", "") is None  # outside Grid: never asked for it
        assert len(fake.calls_to("users.info")) == 4
    finally:
        await fake.stop()


async def test_rate_limited_users_info_waits_its_retry_after_and_marks_names_as_guesses() -> None:
    """Tier 4 allows about 100 users.info a minute; 5,000 people new to the process clicking at once exceed
    it. After a 429, not one more call before its Retry-After: the request's own name, marked as a guess."""
    fake = FakeSlack(users={"UANA": ("Ana Lovelace", "en-GB"), "UBOB": ("Bérénice", "fr-FR")})
    await fake.start()
    now = [0.0]
    try:
        directory = UserDirectory(make_client("xoxb-t", fake.api_url), monotonic=lambda: now[0])
        fake.fail_next("users.info", "429", retry_after=30)
        assert await directory.info("UANA", "ana") == UserInfo("ana", guessed=True)
        assert await directory.info("UBOB", "bob") == UserInfo("bob", guessed=True)  # not asked: waiting
        assert len(fake.calls_to("users.info")) == 1
        now[0] = 31
        assert await directory.info("UBOB", "bob") == UserInfo("Bérénice", "fr-FR", found=True)
        assert len(fake.calls_to("users.info")) == 2
    finally:
        await fake.stop()
