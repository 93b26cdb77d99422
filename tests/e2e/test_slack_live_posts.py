"""Posts that update in place on Slack (`chat.update`), through the real Bolt app and the fake Web API:
a consultation's tally, an idea's upvotes, an announcement's acknowledgements, a position closed. Updates
are coalesced per message (many clicks in the window make one update), paced, never sent before the post
has its ts, and survive a restart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from bot.app import edit_worker
from bot.clock import FrozenClock
from bot.outbox.contract import RateLimit
from bot.outbox.edits import EditWorker
from bot.outbox.live import DELAY, INTERVAL
from bot.settings import Settings
from tests.fakes.slack_api import Call, FakeSlack
from tests.support.slack import ADMIN, ALICE, BOB, USERS, SlackHarness, block_text, button, running_slack

WINDOW = DELAY + timedelta(seconds=1)  # past the coalescing delay


def editor(slack: SlackHarness, *, limits: dict[str, RateLimit] | None = None) -> EditWorker:
    """The edit worker as `cercle run` builds it (capabilities' views), unpaced unless `limits` say so."""
    return edit_worker(slack.app, {"slack": slack.adapter.sender}, limits=limits or {})


async def cafe_with_members(slack: SlackHarness) -> None:
    await slack.command('community create cafe "Café" --topics coffee', user=ADMIN)
    await slack.command("community link cafe", user=ADMIN, channel="CCAFE", channel_name="cafe")
    for user in (ALICE, BOB):
        await slack.command("community join cafe", user=user)


def text_of(call: Call) -> str:
    return block_text(call.params["blocks"])


async def test_a_consultation_shows_its_new_tally_after_votes(slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('consult open cafe "Which coffee?" "Arabica" "Robusta"', user=ADMIN)
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    choices = button_row(post)
    await slack.click(choices[0], user=ALICE, channel="CCAFE")
    await slack.click(choices[1], user=BOB, channel="CCAFE")
    edits = editor(slack)
    assert await edits.run_once() == 0  # within the coalescing delay: nothing yet
    assert slack.fake.updated() == []
    clock.advance(WINDOW)
    assert await edits.run_once() == 1
    (update,) = slack.fake.updated("CCAFE")
    assert update.params["ts"] == post.answer["ts"]
    text = text_of(update)
    assert "1. Arabica — 1 vote (50%)" in text and "2. Robusta — 1 vote (50%)" in text
    assert "2 votes in all." in text
    assert "Which coffee?" in text and [b["value"] for b in button_row(update)] == ["vote V1 1", "vote V1 2"]
    # what a member now sees in the channel is the updated message
    (shown,) = slack.fake.history["CCAFE"]
    assert "1. Arabica — 1 vote (50%)" in block_text(shown["blocks"])


def button_row(call: Call) -> list[dict]:
    return [e for b in call.params["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_many_votes_in_the_window_make_one_update_and_the_last_is_right(slack: SlackHarness,
                                                                                clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('consult open cafe "Which coffee?" "Arabica" "Robusta"', user=ADMIN)
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    choices = button_row(post)
    for round_ in range(6):  # twelve votes, people changing their minds
        await slack.click(choices[round_ % 2], user=ALICE, channel="CCAFE")
        await slack.click(choices[(round_ + 1) % 2], user=BOB, channel="CCAFE")
    await slack.click(choices[0], user=ALICE, channel="CCAFE")  # finally both for Arabica
    edits = editor(slack)
    clock.advance(WINDOW)
    assert await edits.drain(10) == 1
    (update,) = slack.fake.updated("CCAFE")
    assert "1. Arabica — 2 votes (100%)" in text_of(update) and "2. Robusta — 0 votes (0%)" in text_of(update)

    # A vote right after an update waits for the message's interval: at most one update per interval.
    await slack.command("vote V1 2", user=ALICE)
    clock.advance(WINDOW)
    assert await edits.run_once() == 0
    clock.advance(INTERVAL)
    assert await edits.run_once() == 1
    assert "1. Arabica — 1 vote (50%)" in text_of(slack.fake.updated("CCAFE")[-1])
    assert len(slack.fake.updated()) == 2


async def test_anonymous_and_hidden_consultations_never_show_a_tally_before_closing(
        slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('consult open cafe "Anonymous?" "Yes" "No" --anonymous', user=ADMIN)
    await slack.command('consult open cafe "Hidden?" "Yes" "No" --hidden', user=ADMIN)
    await slack.worker.run_once()
    assert len(slack.fake.posted("CCAFE")) == 2
    for code in ("V1", "V2"):
        await slack.command(f"vote {code} 1", user=ALICE)
        await slack.command(f"vote {code} 2", user=BOB)
    edits = editor(slack)
    for _ in range(3):
        clock.advance(INTERVAL)
        await edits.run_once()
    assert slack.fake.updated() == []
    shown = " ".join(block_text(m["blocks"]) for m in slack.fake.history["CCAFE"])
    assert "vote (50%)" not in shown and "votes in all" not in shown

    # Closed: the posts say so and show the final results (no more buttons).
    await slack.command("consult close V1", user=ADMIN)
    await slack.command("consult close V2", user=ADMIN)
    await slack.worker.run_once()
    clock.advance(WINDOW)
    assert await edits.drain(10) == 2
    for update in slack.fake.updated("CCAFE"):
        assert "Closed: voting is over." in text_of(update) and "1. Yes — 1 vote (50%)" in text_of(update)
        assert button_row(update) == []


async def test_an_ideas_upvotes_show_on_its_post(slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('idea cafe "Oat milk at the coffee machine"', user=ALICE)
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    await slack.click(button(post.params["blocks"], "Upvote"), user=BOB, channel="CCAFE")
    await slack.click(button(post.params["blocks"], "Upvote"), user=ADMIN, channel="CCAFE")
    clock.advance(WINDOW)
    assert await editor(slack).drain(10) == 1
    (update,) = slack.fake.updated("CCAFE")
    assert "2 upvotes" in text_of(update) and "Oat milk at the coffee machine" in text_of(update)


async def test_an_announcement_shows_its_acknowledgements_as_a_bar(slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('crisis declare "Flood" --audience cafe', user=ADMIN)
    await slack.command('crisis announce C1 "Stay home tomorrow."', user=ADMIN)
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    ack = button(post.params["blocks"], "Acknowledge")
    await slack.click(ack, user=ALICE, channel="CCAFE")
    await slack.click(ack, user=ALICE, channel="CCAFE")  # twice: counted once
    edits = editor(slack)
    clock.advance(WINDOW)
    assert await edits.drain(10) == 1
    (update,) = slack.fake.updated("CCAFE")
    assert "Stay home tomorrow." in text_of(update)
    assert "▰▰▰▱▱▱▱▱▱▱ Acknowledged by 1 of 3 (33%)" in text_of(update)
    await slack.command("crisis close C1", user=ADMIN)
    clock.advance(INTERVAL)
    await edits.drain(10)
    closed = slack.fake.updated("CCAFE")[-1]
    assert "This crisis is closed." in text_of(closed) and button_row(closed) == []


async def test_a_closed_position_shows_closed_on_its_post(slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command(f"role grant <@{ADMIN}> hr", user=ADMIN)  # only HR opens positions
    await slack.command('position open "Barista" --site "Lyon" --skills coffee', user=ADMIN)
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    assert button(post.params["blocks"], "Nominate someone")
    await slack.command("position close P1", user=ADMIN)
    clock.advance(WINDOW)
    assert await editor(slack).drain(10) == 1
    (update,) = slack.fake.updated("CCAFE")
    assert "P1: Barista at Lyon — closed" in text_of(update) and button_row(update) == []


async def test_no_update_before_the_post_has_its_ts_the_post_goes_out_fresh(slack: SlackHarness,
                                                                           clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('crisis declare "Flood" --audience cafe', user=ADMIN)
    await slack.command('crisis announce C1 "Stay home tomorrow."', user=ADMIN)
    await slack.command("crisis ack C1", user=BOB)  # before the post went out
    clock.advance(WINDOW)
    edits = editor(slack)
    assert await edits.drain(10) == 0 and slack.fake.updated() == []
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    assert "Acknowledged by 1 of 3" in text_of(post)  # posted with the count of the moment
    clock.advance(INTERVAL)
    assert await edits.drain(10) == 0


async def test_a_restart_between_a_vote_and_its_update_still_updates(settings: Settings, clock: FrozenClock,
                                                                     engine: Engine) -> None:
    fake = FakeSlack(users=USERS)
    async with running_slack(settings, clock, engine, fake=fake) as slack:
        await cafe_with_members(slack)
        await slack.command('consult open cafe "Which coffee?" "Arabica" "Robusta"', user=ADMIN)
        await slack.worker.run_once()
        await slack.command("vote V1 2", user=ALICE)
    assert fake.updated() == []  # stopped before the coalescing delay ended
    async with running_slack(settings, clock, engine, fake=fake) as slack:
        clock.advance(WINDOW)
        assert await editor(slack).drain(10) == 1
        (update,) = fake.updated("CCAFE")
        assert "2. Robusta — 1 vote (100%)" in text_of(update)


async def test_a_429_on_update_waits_for_retry_after_and_is_not_lost(slack: SlackHarness, clock: FrozenClock) -> None:
    await cafe_with_members(slack)
    await slack.command('idea cafe "Oat milk"', user=ALICE)
    await slack.worker.run_once()
    await slack.command("idea upvote I1", user=BOB)
    slack.fake.fail_next("chat.update", "429", retry_after=3)
    edits = editor(slack)
    clock.advance(WINDOW)
    assert await edits.run_once() == 0
    assert slack.fake.updated() == []
    clock.advance(timedelta(seconds=3))
    assert await edits.drain(10) == 1
    assert "1 upvote" in text_of(slack.fake.updated("CCAFE")[0])
