"""Mentions on Slack are resolved through `users.info` (the fake Slack Web API) before Cercle creates a
person: a made-up user id gets a clear answer and creates nobody, in a command and in the nomination modal."""

from __future__ import annotations

from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import Account, Nomination, Person, RoleGrant
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text


def _reply(call: object) -> str:
    params = call.params  # type: ignore[attr-defined]
    return block_text(params["blocks"]) if params.get("blocks") else str(params.get("text", ""))


async def test_an_unknown_mention_creates_nobody(slack: SlackHarness) -> None:
    with session_scope(slack.app.engine) as session:
        people_before = len(session.exec(select(Person)).all())
    refused = await slack.command("role grant <@UNOBODY> hr", user=ADMIN)
    assert "I cannot find" in _reply(refused) and "nothing was done" in _reply(refused)
    assert "UNOBODY" in [c.params.get("user") for c in slack.fake.calls_to("users.info")]
    await slack.command(f"role grant <@{ADMIN}> hr", user=ADMIN)
    await slack.command('position open "Data engineer" --site Lyon', user=ADMIN)
    refused = await slack.command('nominate P1 <@UGHOST|ghost> "She ran the Lyon migration and trains the team"',
                                  user=ALICE)
    assert "I cannot find" in _reply(refused)
    with session_scope(slack.app.engine) as session:
        assert session.exec(select(Account).where(col(Account.user_id).in_(("UNOBODY", "UGHOST")))).all() == []
        assert session.exec(select(Nomination)).all() == []
        assert [g.role for g in session.exec(select(RoleGrant))] == ["hr"]  # the admin's own
        # ADMIN and ALICE wrote; nobody else was created
        assert len(session.exec(select(Person)).all()) == people_before + 2


async def test_a_mention_slack_confirms_creates_the_person_with_slacks_name(slack: SlackHarness) -> None:
    granted = await slack.command(f"role grant <@{BOB}> communicator", user=ADMIN)
    assert "Bérénice" in _reply(granted)
    with session_scope(slack.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == BOB)).one()
        assert account.display_name == "Bérénice"
