"""A nomination from Slack, through the position's announcement, its modal and the consent buttons:
the confidential parts never reach the shared channel."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.outbox.guard import REFUSED
from storage.db import session_scope
from storage.tables import Account, Nomination, OutboxMessage
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


async def test_hr_who_lose_the_role_before_delivery_get_nothing_in_slack(slack: SlackHarness) -> None:
    await slack.command("profile show", user=BOB)  # Bérénice is known to Cercle
    await slack.command(f"role grant <@{ADMIN}> hr", user=ADMIN)
    await slack.command('position open "Data engineer" --site "Lyon"', user=ADMIN)
    await slack.command(f'nominate P1 <@{BOB}> "She rebuilt our pipelines; secret reason"', user=ALICE)
    await slack.worker.run_once()  # the consent request reaches Bérénice
    assert [c.params["channel"] for c in slack.fake.posted()] == ["D" + BOB.lstrip("U")]
    await slack.command("nomination consent N1 yes", user=BOB)  # HR's notice, naming her, is queued...
    await slack.command(f"role revoke <@{ADMIN}> hr", user=ADMIN)  # ...and Ada is no longer HR when it goes
    while await slack.worker.run_once():
        pass
    sent = json.dumps([c.params for c in slack.fake.posted()], ensure_ascii=False)
    to_ada = [c.params for c in slack.fake.posted() if c.params["channel"] == "D" + ADMIN.lstrip("U")]
    assert "Bérénice" not in json.dumps(to_ada, ensure_ascii=False) and "N1" not in json.dumps(to_ada)
    assert "agreed to be put forward" in sent  # the nominator, Alice, is told
    with session_scope(slack.app.engine) as session:
        (refused,) = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
        assert (refused.subject, refused.last_error, refused.body) == ("nomination:1:hr-named", REFUSED, "")
