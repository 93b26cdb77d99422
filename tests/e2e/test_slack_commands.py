"""Slash commands through the real Bolt app: signed requests in, replies on the response_url."""

from __future__ import annotations

import re

from sqlmodel import select

from storage.db import session_scope
from storage.tables import Account, Community, Membership, Person, PersonSkill
from tests.fakes.slack_api import TEAM_ID
from tests.support.chat import Chat
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text


async def test_empty_command_shows_help(slack: SlackHarness) -> None:
    response = await slack.command("")
    assert response.params["response_type"] == "ephemeral"
    text = block_text(response.params["blocks"])
    assert "Cercle commands, by topic" in text and "help community: create" in text
    topic = await slack.command("help community")
    assert "community join &lt;slug&gt;" in block_text(topic.params["blocks"])  # the usage lines, escaped


async def test_community_commands_end_to_end(slack: SlackHarness) -> None:
    created = await slack.command('community create data-science "Data Science" --purpose "Share notebooks" '
                                  '--topics python,ml', user=ADMIN)
    assert "Community Data Science (data-science) created" in block_text(created.params["blocks"])
    joined = await slack.command("community join data-science", user=ALICE)
    assert joined.params["response_type"] == "ephemeral"
    assert "Welcome to Data Science" in block_text(joined.params["blocks"])
    info = await slack.command("community info data-science", user=BOB)
    text = block_text(info.params["blocks"])
    assert "Share notebooks" in text and "Ada Admin" in text
    linked = await slack.command("community link data-science", user=ADMIN, channel="CDATA", channel_name="data")
    assert linked.params["response_type"] == "in_channel"  # a public reply, seen by the channel
    listing = await slack.command("community list", user=ALICE)
    assert "data-science" in block_text(listing.params["blocks"])
    with session_scope(slack.app.engine) as session:
        community = session.exec(select(Community).where(Community.slug == "data-science")).one()
        members = session.exec(select(Membership).where(Membership.community_id == community.id)).all()
        names = {session.get(Person, m.person_id).display_name for m in members}  # type: ignore[union-attr]
    assert names == {"Ada Admin", "Alice"}


async def test_french_user_gets_french_replies(slack: SlackHarness) -> None:
    """Bérénice's Slack locale is fr-FR and she has not chosen a language: Cercle answers in French."""
    reply = await slack.command("profile skills python, sql", user=BOB)
    assert "Vos compétences\u202f: python, sql." in block_text(reply.params["blocks"])
    help_reply = await slack.command("aide", user=BOB)
    assert "Commandes de Cercle" in block_text(help_reply.params["blocks"])
    english = await slack.command("language en", user=BOB)
    assert "From now on Cercle speaks English to you." in block_text(english.params["blocks"])
    with session_scope(slack.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == BOB)).one()
        assert (account.workspace, account.display_name, account.platform_locale) == (TEAM_ID, "Bérénice", "fr")
        skills = {s.skill for s in session.exec(select(PersonSkill).where(PersonSkill.person_id == account.person_id))}
    assert skills == {"python", "sql"}


async def test_mentions_resolve_to_people_with_their_slack_names(slack: SlackHarness) -> None:
    granted = await slack.command(f"role grant <@{BOB}|berenice> hr", user=ADMIN)
    assert "Bérénice now has the hr role." in block_text(granted.params["blocks"])
    roles = await slack.command("role list", user=ALICE)
    assert "hr: Bérénice" in block_text(roles.params["blocks"])
    refused = await slack.command(f"role grant <@{ALICE}> admin", user=BOB)
    assert "Seules les personnes" in block_text(refused.params["blocks"])  # in her language, to her only
    assert refused.params["response_type"] == "ephemeral"


async def test_expertise_resources_and_linking_accounts(slack: SlackHarness) -> None:
    await slack.command('community create data "Data"', user=ADMIN)
    await slack.command("community join data", user=ALICE)
    await slack.command("profile skills python", user=ALICE)
    experts = await slack.command("whoknows python", user=BOB)
    assert "Alice — python — dans data — 1 contribution" in block_text(experts.params["blocks"])
    await slack.command('share data https://example.org/nb "Notebooks" --tags ml', user=ALICE)
    shared = await slack.command("resources data --tag ml", user=ADMIN)
    assert "Notebooks — <https://example.org/nb> [ml]" in block_text(shared.params["blocks"])

    # Alice joins her console account to her Slack one with a one-time code; both accounts confirm.
    linked = await slack.command("profile link", user=ALICE)
    code = re.search(r"Your link code is ([A-Z0-9]{8})", block_text(linked.params["blocks"]))
    assert code is not None
    chat = Chat(slack.app)
    claimed = chat.ok(f"profile link {code.group(1)}", user="alice")
    assert f"This will join your account with Alice on Slack (slack:{TEAM_ID}:{ALICE})" in claimed
    assert f"(slack:{TEAM_ID}:{ALICE}) must now confirm too" in chat.ok("profile link confirm", user="alice")
    await slack.worker.run_once()
    (ask,) = [c for c in slack.fake.posted() if "asks to join your account" in block_text(c.params["blocks"])]
    assert "alice on the console (console:alice)" in block_text(ask.params["blocks"])
    confirmed = await slack.command("profile link confirm", user=ALICE)
    assert "Done: your accounts are now one person" in block_text(confirmed.params["blocks"])
    shown = await slack.command("profile show", user=ALICE)
    text = block_text(shown.params["blocks"])
    assert "console:alice" in text and f"slack:{ALICE}" in text and "python" in text
