"""Where a confidential command may be typed (issue 12), role × command × place, on Slack (the real Bolt app,
signed requests, the fake Web API) and the console: every referral command, a vote in an anonymous consultation
and an anonymous question are refused from a place others read (a mention in a channel, a console channel),
with a reply for the caller only that says where to type them, and nothing changes; from a private place (a
slash command, a direct message, a button, a modal, the console's `:dm`) they run. Matrix is in
`test_places_matrix.py`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import ConsultationOption, CrisisQuestion, Nomination
from tests.fakes.slack_api import BOT_USER_ID, FakeSlack
from tests.support.chat import Chat
from tests.support.slack import ADMIN, ALICE, BOB, USERS, SlackHarness, block_text, button, buttons, running_slack
from tests.support.snapshot import snapshot

HANNAH = "UHANNAH"
WHY = "Bob rebuilt our data pipelines and mentors the whole team."

# Who types what: a member (the nominator), the nominee, HR, an administrator.
SLACK_ROLES = {"member": ALICE, "nominee": BOB, "hr": HANNAH, "admin": ADMIN}
CASES: list[tuple[str, str]] = [
    ("member", 'nominate P1 {nominee} "' + WHY + '"'),
    ("member", "nomination list"),
    ("member", "nomination withdraw N1"),
    ("nominee", "nomination show N1"),
    ("nominee", "nomination consent N1 yes"),
    ("nominee", "nomination consent N1 no"),
    ("hr", "nomination list --all"),
    ("hr", "nomination show N1"),
    ("hr", "nomination move N1 rejected"),
    ("admin", "nomination list"),
    ("member", "vote V1 1"),
    ("nominee", "vote V1 2"),
    ("member", 'crisis ask C1 "Will the site close?" --anonymous'),
    ("nominee", 'crisis ask C1 "Will the site close?" --anonymous'),
]
REFUSED = ("this command is confidential", "your vote was not counted", "would not be anonymous",
           # Bérénice (BOB) reads French
           "cette commande est confidentielle", "votre vote n’a pas été compté", "ne serait donc pas anonyme")


def refused(text: str) -> bool:
    return any(marker in text for marker in REFUSED)


def user_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What commands change (not the router's bookkeeping, not a platform adapter's own state)."""
    return {name: rows for name, rows in snapshot(engine).items()
            if not name.startswith("matrix_") and name not in ("keyvalue", "processedevent")}


@pytest.fixture
async def places(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[SlackHarness]:
    fake = FakeSlack(users={**USERS, HANNAH: ("Hannah", "en-US")})
    async with running_slack(settings, clock, engine, fake=fake) as slack:
        await slack.command(f"role grant <@{HANNAH}> hr", user=ADMIN)
        await slack.command('community create cafe "Café" --topics data', user=ADMIN)
        await slack.command("community link cafe", user=ADMIN, channel="CCAFE", channel_name="cafe")
        for user in (ALICE, BOB, HANNAH):
            await slack.command("community join cafe", user=user)
        await slack.command('position open "Data engineer" --site Lyon --skills data', user=HANNAH)
        await slack.command('consult open cafe "Trust the board?" "Yes" "No" --anonymous', user=ADMIN)
        await slack.command('crisis declare "Site closure" --audience cafe', user=ADMIN)
        await slack.command('crisis announce C1 "The Lyon site closes."', user=ADMIN)
        await slack.worker.run_once()
        yield slack


async def mention(slack: SlackHarness, user: str, text: str, channel: str = "CCAFE") -> str:
    """`@Cercle <text>` in a channel; returns what Cercle answered the person (an ephemeral message)."""
    before = len(slack.fake.calls_to("chat.postEphemeral"))
    await slack.event({"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "channel": channel,
                       "ts": f"17000{len(slack.fake.calls):05d}.000100"})
    answers = slack.fake.calls_to("chat.postEphemeral")[before:]
    assert len(answers) == 1 and answers[0].params["user"] == user, answers
    return block_text(answers[0].params["blocks"])


async def direct(slack: SlackHarness, user: str, text: str) -> str:
    """A message in the person's direct conversation with Cercle; returns the answer posted there."""
    channel = "D" + user.lstrip("U")
    before = len(slack.fake.posted(channel))
    await slack.event({"type": "message", "channel_type": "im", "user": user, "text": text, "channel": channel,
                       "ts": f"17000{len(slack.fake.calls):05d}.000200"})
    answers = slack.fake.posted(channel)[before:]
    assert len(answers) == 1, answers
    return block_text(answers[0].params["blocks"])


async def slash(slack: SlackHarness, user: str, text: str) -> str:
    """`/cercle <text>` typed in the shared channel: only the person sees it."""
    answer = await slack.command(text, user=user, channel="CCAFE", channel_name="cafe")
    return block_text(answer.params["blocks"])


async def test_slack_every_confidential_command_from_every_place(places: SlackHarness) -> None:
    slack = places
    nominee = f"<@{BOB}>"
    # A nomination typed in the channel is refused, then typed with the slash command in the same channel.
    assert refused(await mention(slack, ALICE, f'nominate P1 {nominee} "{WHY}"'))
    assert "Nomination N1" in await slash(slack, ALICE, f'nominate P1 {nominee} "{WHY}"')

    # Shared place: every role, every confidential command, refused with where to type it; nothing changes.
    before = user_rows(slack.app.engine)
    for role, line in CASES:
        text = await mention(slack, SLACK_ROLES[role], line.format(nominee=nominee))
        assert refused(text), (role, line, text)
        assert "(/cercle …)" in text, (role, line, text)  # where to type it: the slash command, or a DM
        assert "N1" not in text and WHY not in text
    assert user_rows(slack.app.engine) == before
    channel_posts = json.dumps([c.params for c in slack.fake.posted("CCAFE")], ensure_ascii=False)
    assert WHY not in channel_posts and "Will the site close" not in channel_posts

    # Private places: the same commands run.
    assert "N1" in await slash(slack, BOB, "nomination show N1")  # slash command in the channel
    assert "N1" in await slash(slack, HANNAH, "nomination list --all")
    assert "proposé" in await direct(slack, BOB, "nomination consent N1 yes")  # a direct message (in French)
    assert "Keep the code" in await direct(slack, ALICE, 'crisis ask C1 "Will the site close?" --anonymous')
    post = next(c for c in slack.fake.posted("CCAFE") if "Trust the board?" in block_text(c.params["blocks"]))
    vote = buttons(post.params["blocks"])[0]
    _ack, key = await slack.click(vote, user=ALICE, channel="CCAFE")  # a button in the channel
    (answer,) = slack.responses_to(key)
    assert answer.params["response_type"] == "ephemeral"
    assert "Your anonymous vote in V1 is counted" in block_text(answer.params["blocks"])
    announcement = next(c for c in slack.fake.posted("CCAFE") if "P1" in block_text(c.params["blocks"]))
    await slack.click(button(announcement.params["blocks"], "Nominate someone"), user=BOB, channel="CCAFE")
    view = slack.fake.calls_to("views.open")[-1].params["view"]
    submitted = await slack.submit(view, {"person": ALICE, "why": WHY.replace("Bob", "Alice")}, user=BOB)  # modal
    assert submitted.status == 200 and not submitted.body
    with session_scope(slack.app.engine) as session:
        assert [n.state for n in session.exec(select(Nomination).order_by(col(Nomination.id)))] == \
            ["consented", "awaiting_consent"]
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] == \
            [1, 0]
        assert len(session.exec(select(CrisisQuestion)).all()) == 1
    assert "moved from" in await slash(slack, HANNAH, "nomination move N1 under_review")


CONSOLE_ROLES = {"member": "marc", "nominee": "bob", "hr": "hannah", "admin": "admin"}


def test_console_every_confidential_command_from_a_channel_and_from_dm(chat: Chat) -> None:
    chat.ok("role grant @hannah hr", user="admin")
    chat.ok('community create cafe "Café" --topics data', user="admin")
    chat.ok("community link cafe", user="admin", channel="cafe")
    for user in ("marc", "bob", "hannah"):
        chat.ok("community join cafe", user=user)
    chat.ok('position open "Data engineer" --site Lyon --skills data', user="hannah")
    chat.ok('consult open cafe "Trust the board?" "Yes" "No" --anonymous', user="admin")
    chat.ok('crisis declare "Site closure" --audience cafe', user="admin")
    chat.ok('crisis announce C1 "The Lyon site closes."', user="admin")
    chat.ok(f'nominate P1 @bob "{WHY}"', user="marc", direct=True)
    before = user_rows(chat.app.engine)
    for role, line in CASES:
        reply = chat.say(line.format(nominee="@bob"), user=CONSOLE_ROLES[role], channel="cafe")
        text = reply.message.plain_text()
        assert reply.is_error and reply.confidential and refused(text), (role, line, text)
        assert "(:dm)" in text
    assert user_rows(chat.app.engine) == before
    # From `:dm` they run (each as its role would, in an order the workflow allows).
    for user, line, answer in (("bob", "nomination show N1", "N1"), ("hannah", "nomination list --all", "N1"),
                               ("bob", "nomination consent N1 yes", "put forward"), ("marc", "vote V1 1", "counted"),
                               ("bob", "vote V1 2", "counted"),
                               ("marc", 'crisis ask C1 "Will the site close?" --anonymous', "Keep the code"),
                               ("hannah", "nomination move N1 under_review", "moved from"),
                               ("marc", "nomination list", "N1"), ("marc", "nomination withdraw N1", "withdrawn")):
        assert answer in chat.ok(line, user=user, direct=True), line
