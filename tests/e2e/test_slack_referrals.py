"""A nomination from Slack, through the position's announcement, its modal and the consent buttons:
the confidential parts never reach the shared channel."""

from __future__ import annotations

import json

from sqlmodel import select

from storage.db import session_scope
from storage.tables import Account, Nomination
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text, button


async def test_nominating_from_an_announcement_in_slack(slack: SlackHarness) -> None:
    await slack.command('community create data "Data" --topics python', user=ADMIN)
    await slack.command("community link data", user=ADMIN, channel="CDATA", channel_name="data")
    await slack.command("profile show", user=BOB)  # Bérénice is known to Cercle
    await slack.command(f"role grant <@{ADMIN}> hr", user=ADMIN)  # an admin is HR only once granted hr
    opened = await slack.command('position open "Data engineer" --site "Lyon" --skills python', user=ADMIN)
    assert "Position P1 opened" in block_text(opened.params["blocks"])
    await slack.worker.run_once()
    (announcement,) = slack.fake.posted("CDATA")

    nominate = button(announcement.params["blocks"], "Nominate someone")
    await slack.click(nominate, user=ALICE, channel="CDATA")
    view = slack.fake.calls_to("views.open")[0].params["view"]
    assert [b["element"]["type"] for b in view["blocks"]] == ["users_select", "plain_text_input"]
    answer = await slack.submit(view, {"person": BOB, "why": "She rebuilt our pipelines; secret reason"},
                                user=ALICE)
    assert answer.status == 200 and not answer.body
    (thanks,) = slack.fake.calls_to("chat.postEphemeral")
    assert thanks.params["user"] == ALICE and thanks.params["channel"] == "CDATA"
    assert "Nomination N1" in block_text(thanks.params["blocks"])

    await slack.worker.run_once()
    (consent,) = [c for c in slack.fake.posted() if c.params["channel"].startswith("D")]
    assert consent.params["channel"] == "D" + BOB.lstrip("U")
    assert "secret reason" in block_text(consent.params["blocks"])  # the nominee sees why, in private
    yes = button(consent.params["blocks"], "Oui, proposez-moi")
    _answer, key = await slack.click(yes, user=BOB, channel=consent.params["channel"])
    assert slack.responses_to(key)

    shared = json.dumps([c.params for c in slack.fake.posted("CDATA")], ensure_ascii=False)
    assert "secret reason" not in shared and "Bérénice" not in shared and "N1" not in shared
    with session_scope(slack.app.engine) as session:
        bob = session.exec(select(Account).where(Account.user_id == BOB)).one()
        (nomination,) = session.exec(select(Nomination)).all()
        assert (nomination.nominee_id, nomination.state) == (bob.person_id, "consented")
