"""The Slack Home tab through the real Bolt app (HTTP and Socket Mode) against the fake Web API: opening it
publishes the person's home with working buttons, a click republishes it, others' changes refresh it
(debounced, only for those who opened it); times in each reader's zone (Slack's date tokens, users.info tz)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FrozenClock
from bot.crisis.jobs import reminders_job
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Account, CrisisAck, Nomination, OutboxMessage
from tests.fakes.slack_api import TEAM_ID, Call
from tests.support.slack import ADMIN, ALICE, BOB, USERS, SlackHarness, block_text, button, new_id, running_slack

WHY = "Alice ran the Kafka migration in Nantes and mentors the whole team."


@pytest.fixture(params=["http", "socket"])
async def harness(request: pytest.FixtureRequest, settings: Settings, clock: FrozenClock,
                  engine: Engine) -> AsyncIterator[SlackHarness]:
    async with running_slack(settings, clock, engine, socket_mode=request.param == "socket") as slack:
        slack.adapter.home.debounce = 0.2
        yield slack


async def send_event(slack: SlackHarness, event: dict[str, Any]) -> None:
    """An Events API callback, the way the harness's mode receives it (signed HTTP, or a Socket Mode envelope)."""
    if slack.adapter.socket_mode:
        body = {"token": "legacy", "team_id": TEAM_ID, "api_app_id": "ACERCLE", "type": "event_callback",
                "event_id": new_id("Ev"), "event_time": int(time.time()), "event": event}
        await slack.fake.socket_send("events_api", body)
        await slack.settle()
    else:
        assert (await slack.event(event)).status == 200


async def open_home(slack: SlackHarness, user: str) -> None:
    await send_event(slack, {"type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home",
                             "event_ts": f"{time.time():.6f}"})


async def click_in_home(slack: SlackHarness, element: dict[str, Any], user: str) -> None:
    """A click on a button of the person's Home tab: a block_actions payload from a `home` view (no channel,
    no response_url)."""
    payload = {"type": "block_actions", "team": {"id": TEAM_ID, "domain": "cercle-test"},
               "user": {"id": user, "username": USERS[user][0].lower(), "team_id": TEAM_ID},
               "api_app_id": "ACERCLE", "trigger_id": new_id("trig."),
               "container": {"type": "view", "view_id": "VHOME"},
               "view": {"id": "VHOME", "type": "home", "team_id": TEAM_ID, "blocks": []},
               "actions": [{"type": "button", "action_id": element["action_id"], "block_id": "b1",
                            "value": element.get("value", ""), "text": element["text"],
                            "action_ts": f"{time.time():.6f}"}]}
    if slack.adapter.socket_mode:
        await slack.fake.socket_send("interactive", payload)
    else:
        assert (await slack.post_payload(payload)).status == 200
    await slack.settle()


def published(slack: SlackHarness, user: str) -> list[Call]:
    return [c for c in slack.fake.calls_to("views.publish") if c.params.get("user_id") == user]


def last_view(slack: SlackHarness, user: str) -> dict[str, Any]:
    calls = published(slack, user)
    assert calls, f"no view published for {user}"
    view: dict[str, Any] = calls[-1].params["view"]
    assert view["type"] == "home"
    return view


async def command(slack: SlackHarness, text: str, user: str) -> str:
    """A slash command in the harness's mode; returns the text of its answer."""
    if not slack.adapter.socket_mode:
        return block_text((await slack.command(text, user=user)).params["blocks"])
    trigger = new_id("trig.")
    body = {"team_id": TEAM_ID, "channel_id": "CGENERAL", "channel_name": "general", "user_id": user,
            "user_name": user.lower(), "command": "/cercle", "text": text, "api_app_id": "ACERCLE",
            "response_url": slack.fake.response_url(trigger), "trigger_id": trigger}
    await slack.fake.socket_send("slash_commands", body)
    await slack.settle()
    return block_text(slack.response(trigger).params["blocks"])


async def waiting_for_alice(slack: SlackHarness) -> None:
    """Alice: a consent to give, two communities, an unacknowledged crisis."""
    await command(slack, 'community create garden "Garden"', ADMIN)
    await command(slack, 'community create ops "Operations"', ADMIN)
    await command(slack, "community link ops", ADMIN)  # in #general
    for slug in ("garden", "ops"):
        await command(slack, f"community join {slug}", ALICE)
    await command(slack, f"role grant <@{BOB}> hr", ADMIN)
    await command(slack, 'position open "Data engineer" --site Lyon', BOB)
    await command(slack, f'nominate P1 <@{ALICE}> "{WHY}"', ADMIN)
    await command(slack, 'crisis declare "Site closure" --audience ops', ADMIN)
    await command(slack, 'crisis announce C1 "The Lyon site closes in June."', ADMIN)


async def test_the_home_tab_lists_what_waits_and_its_buttons_work(harness: SlackHarness) -> None:
    slack = harness
    slack.adapter.home.debounce = 60.0  # only the clicks publish here (refreshes: the test below)
    await waiting_for_alice(slack)
    await open_home(slack, ALICE)
    (first,) = published(slack, ALICE)
    view = first.params["view"]
    text = block_text(view["blocks"])
    assert "1 crisis announcement to acknowledge" in text and "C1 Site closure: The Lyon site closes in June." in text
    assert "Ada Admin put you forward for P1 — Data engineer — Lyon. Do you agree?" in text
    assert "Garden (garden)" in text and "Operations (ops)" in text
    ack = button(view["blocks"], "Acknowledge")
    assert ack["value"] == "crisis ack C1"

    await click_in_home(slack, ack, ALICE)
    view = last_view(slack, ALICE)
    text = block_text(view["blocks"])
    assert len(published(slack, ALICE)) == 2  # republished at once
    assert "Thank you: your acknowledgement of C1 is recorded." in text  # the answer, at the top
    assert "to acknowledge" not in text and "Site closure" not in text
    assert "Do you agree?" in text  # the rest is still there
    with session_scope(slack.app.engine) as session:
        assert len(session.exec(select(CrisisAck)).all()) == 1

    # A consent is a confidential command: accepted from the Home tab, which only its person sees.
    await click_in_home(slack, button(view["blocks"], "Yes, put me forward"), ALICE)
    text = block_text(last_view(slack, ALICE)["blocks"])
    assert "Do you agree?" not in text and "Thank you" in text
    with session_scope(slack.app.engine) as session:
        assert session.exec(select(Nomination)).one().state == "consented"
    assert not [c for c in slack.fake.calls_to("chat.postMessage") if c.params.get("channel") == "CGENERAL"
                and "Kafka" in str(c.params)]  # nothing of the nomination in the shared channel


async def test_a_refused_click_says_why_in_the_view_and_changes_nothing(harness: SlackHarness) -> None:
    slack = harness
    await waiting_for_alice(slack)
    await open_home(slack, ALICE)
    ack = button(last_view(slack, ALICE)["blocks"], "Acknowledge")
    await command(slack, "crisis close C1", ADMIN)
    await click_in_home(slack, ack, ALICE)
    text = block_text(last_view(slack, ALICE)["blocks"])
    assert "⚠️" in text and "C1" in text and "closed" in text
    with session_scope(slack.app.engine) as session:
        assert session.exec(select(CrisisAck)).all() == []


async def test_others_changes_refresh_the_views_of_those_who_opened_it_debounced(harness: SlackHarness,
                                                                                 clock: FrozenClock) -> None:
    slack = harness
    slack.adapter.home.debounce = 3.0  # the three commands below take well under that, even on a busy machine
    await command(slack, 'community create ops "Operations"', ADMIN)
    await command(slack, "community link ops", ADMIN)
    await command(slack, "community join ops", ALICE)
    await command(slack, "community join ops", BOB)
    await open_home(slack, ALICE)
    assert "to acknowledge" not in block_text(last_view(slack, ALICE)["blocks"])
    rounds = slack.adapter.home.refreshes
    # Three changes by someone else within the debounce window: one refresh, one new view for Alice.
    await command(slack, 'crisis declare "Outage" --audience ops', ADMIN)
    await command(slack, 'crisis announce C1 "The VPN is down."', ADMIN)
    await command(slack, 'crisis announce C1 "Back at noon."', ADMIN)
    await slack.fake.wait_for(lambda: len(published(slack, ALICE)) == 2, timeout=20)
    assert "C1 Outage: Back at noon." in block_text(last_view(slack, ALICE)["blocks"])
    await asyncio.sleep(0.5)
    assert len(published(slack, ALICE)) == 2  # nothing changed since: not published again
    assert slack.adapter.home.refreshes == rounds + 1
    assert published(slack, BOB) == []  # Bob never opened his Home tab
    with session_scope(slack.app.engine) as session:
        seen = session.exec(select(Account.last_seen_at).where(Account.user_id == ALICE)).one()
    clock.advance(timedelta(minutes=5))
    await command(slack, 'crisis announce C1 "Fixed."', ADMIN)
    await slack.fake.wait_for(lambda: len(published(slack, ALICE)) == 3, timeout=20)
    with session_scope(slack.app.engine) as session:  # a refresh is not Alice doing something
        assert session.exec(select(Account.last_seen_at).where(Account.user_id == ALICE)).one() == seen


async def test_times_in_slack_are_date_tokens_and_the_zone_comes_from_users_info(harness: SlackHarness,
                                                                                clock: FrozenClock) -> None:
    slack = harness
    slack.fake.zones.update({ALICE: "America/New_York"})
    await command(slack, 'community create garden "Garden"', ADMIN)
    await command(slack, "community link garden", ADMIN)
    await command(slack, "community join garden", ALICE)
    await command(slack, 'consult open garden "Which day?" "Monday" "Friday" --closes 2026-12-31', ADMIN)
    await slack.worker.run_once()
    (post,) = [c for c in slack.fake.posted("CGENERAL") if "Which day?" in str(c.params.get("text"))]
    closes = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)  # the end of Dec 31 in Paris, the default zone
    stamp = int(closes.timestamp())
    text = block_text(post.params["blocks"])
    # Each reader sees it in their own zone; the fallback is in the channel's (the default) zone.
    assert f"Closes on <!date^{stamp}^{{date_short_pretty}} {{time}}|Dec 31, 2026, 11:59\u202fPM (Paris)>." in text
    with session_scope(slack.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == ALICE)).one()
        assert account.platform_timezone == "America/New_York"  # kept from users.info
    await open_home(slack, ALICE)
    home = block_text(last_view(slack, ALICE)["blocks"])
    assert re.search(rf"<!date\^{stamp}\^\{{date_short_pretty\}} \{{time\}}\|Dec 31, 2026, 5:59\u202fPM "
                     r"\(New York\)>", home), home  # the fallback in Alice's zone
    assert "Dec 31" not in post.params["text"] or "<!date" not in post.params["text"]  # plain text stays text


async def test_quiet_hours_follow_the_zone_slack_gives(slack: SlackHarness, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # a Monday: 09:00 in Paris, 03:00 in New York
    slack.fake.zones.update({ALICE: "Europe/Paris", BOB: "America/New_York"})
    await slack.command('community create ops "Operations"', user=ADMIN)
    await slack.command("community link ops", user=ADMIN)
    for user in (ALICE, BOB):
        await slack.command("community join ops", user=user)
    await slack.command('crisis declare "Site closure" --audience ops', user=ADMIN)
    await slack.command('crisis announce C1 "The Lyon site closes in June."', user=ADMIN)
    await slack.command("crisis ack C1", user=ADMIN)  # left: Alice in Paris, Bob in New York
    while await slack.worker.run_once():
        pass
    before = len(slack.fake.calls_to("chat.postMessage"))
    reply = block_text((await slack.command("crisis remind C1", user=ADMIN)).params["blocks"])
    assert "1 sent now, 1 waiting" in reply
    reminders_job(slack.app.job_context())
    while await slack.worker.run_once():
        pass
    reminders = slack.fake.calls_to("chat.postMessage")[before:]  # private reminders (Bob's in French)
    assert [c.params["channel"] for c in reminders] == ["D" + ALICE.lstrip("U")]
    clock.set(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # 09:00 in New York: Bob's turn
    reminders_job(slack.app.job_context())
    while await slack.worker.run_once():
        pass
    reminders = slack.fake.calls_to("chat.postMessage")[before:]  # private reminders (Bob's in French)
    assert [c.params["channel"] for c in reminders] == ["D" + ALICE.lstrip("U"), "D" + BOB.lstrip("U")]


async def test_an_anonymous_vote_from_the_home_tab_is_private_and_leaves_no_trace(slack: SlackHarness) -> None:
    await slack.command('community create garden "Garden"', user=ADMIN)
    await slack.command("community link garden", user=ADMIN)
    await slack.command("community join garden", user=ALICE)
    await slack.command('consult open garden "Move the office?" "Yes" "No" --anonymous', user=ADMIN)
    await open_home(slack, ALICE)
    view = last_view(slack, ALICE)
    assert "V1 in Garden: Move the office?" in block_text(view["blocks"])
    await click_in_home(slack, button(view["blocks"], "2. No"), ALICE)
    text = block_text(last_view(slack, ALICE)["blocks"])
    assert "Your anonymous vote in V1 is counted" in text and "Move the office?" not in text
    with session_scope(slack.app.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "dm")).all()
        assert rows == []  # nothing addressed to Alice about her vote


async def test_when_slack_refuses_the_view_the_answer_goes_through_the_outbox(slack: SlackHarness) -> None:
    await waiting_for_alice(slack)
    await open_home(slack, ALICE)
    ack = button(last_view(slack, ALICE)["blocks"], "Acknowledge")
    slack.fake.fail_next("views.publish", "429", times=3, retry_after=1)
    await click_in_home(slack, ack, ALICE)
    with session_scope(slack.app.engine) as session:
        assert len(session.exec(select(CrisisAck)).all()) == 1
        (row,) = session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "dm",
                                                          OutboxMessage.subject == "reply")).all()
        assert row.target_id == ALICE and "acknowledgement of C1 is recorded" in row.body
