"""Buttons and modals through the real Bolt app: a click runs the button's command as the clicker;
a form button opens a modal whose submission runs the form's command, refusals shown in the modal."""

from __future__ import annotations

import json

from sqlmodel import select

from adapters.slack.rendering import render
from bot.messages import Actions, Button, Form, FormField, Message
from bot.people import service as people
from bot.permissions import Role
from storage.db import session_scope
from storage.tables import Account, Community, Membership
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text, button


def _communities(slack: SlackHarness) -> list[str]:
    with session_scope(slack.app.engine) as session:
        return sorted(c.slug for c in session.exec(select(Community)))


async def test_join_button_joins_as_the_person_who_clicks(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    info = await slack.command("community info writers", user=ALICE)
    join = button(info.params["blocks"], "Join")
    assert join["value"] == "community join writers" and join["style"] == "primary"
    answer, key = await slack.click(join, user=ALICE)
    assert answer.status == 200
    reply = slack.responses_to(key)
    assert len(reply) == 1
    assert reply[0].params["response_type"] == "ephemeral" and reply[0].params["replace_original"] is False
    assert "Welcome to Writers" in block_text(reply[0].params["blocks"])
    with session_scope(slack.app.engine) as session:
        community = session.exec(select(Community).where(Community.slug == "writers")).one()
        assert len(session.exec(select(Membership).where(Membership.community_id == community.id)).all()) == 2


async def test_destructive_button_carries_a_confirmation(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    info = await slack.command("community info writers", user=ADMIN)
    archive = button(info.params["blocks"], "Archive")
    assert archive["style"] == "danger"
    assert archive["confirm"]["confirm"]["text"] == "Archive"
    assert archive["confirm"]["title"]["text"] == "Archive writers?"


async def test_create_form_opens_a_modal_and_validation_errors_stay_in_it(slack: SlackHarness) -> None:
    listing = await slack.command("community list", user=ALICE)
    create = button(listing.params["blocks"], "Create a community")
    assert create["action_id"].startswith("cercle:form:")
    await slack.click(create, user=ALICE, channel="CGENERAL")
    opened = slack.fake.calls_to("views.open")
    assert len(opened) == 1
    view = opened[0].params["view"]
    assert view["title"]["text"] == "New community" and view["submit"]["text"] == "Create"
    assert [b["block_id"] for b in view["blocks"]] == ["slug", "name", "purpose", "topics"]
    assert [b["optional"] for b in view["blocks"]] == [False, False, True, True]

    refused = await slack.submit(view, {"slug": "Not A Slug!", "name": "Runners"}, user=ALICE)
    assert refused.status == 200
    errors = refused.json()
    assert errors["response_action"] == "errors"
    assert list(errors["errors"]) == ["slug"]
    assert "is not a valid community slug" in errors["errors"]["slug"]
    assert _communities(slack) == []  # nothing changed
    again = await slack.submit(view, {"slug": "Not A Slug!", "name": "Runners"}, user=ALICE)
    assert again.json() == errors  # the same mistake submitted twice: still shown, modal still open

    accepted = await slack.submit(view, {"slug": "runners", "name": 'The "Runners" club',
                                         "purpose": "", "topics": "sport, health"}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    assert _communities(slack) == ["runners"]
    with session_scope(slack.app.engine) as session:
        community = session.exec(select(Community).where(Community.slug == "runners")).one()
        assert community.name == "The 'Runners' club" and community.purpose == ""
    posted = slack.fake.calls_to("chat.postEphemeral")
    assert len(posted) == 1
    assert posted[0].params["user"] == ALICE and posted[0].params["channel"] == "CGENERAL"
    assert "created" in block_text(posted[0].params["blocks"])


async def test_modal_is_in_the_clickers_language(slack: SlackHarness) -> None:
    listing = await slack.command("communauté liste", user=BOB)
    create = button(listing.params["blocks"], "Créer une communauté")
    await slack.click(create, user=BOB)
    view = slack.fake.calls_to("views.open")[0].params["view"]
    assert view["title"]["text"] == "Nouvelle communauté"
    assert view["close"]["text"] == "Annuler"
    refused = await slack.submit(view, {"slug": "x", "name": "Y"}, user=BOB)
    assert "identifiant" in json.dumps(refused.json(), ensure_ascii=False).lower()


async def test_a_click_delivered_twice_has_one_effect(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    info = await slack.command("community info writers", user=ALICE)
    join = button(info.params["blocks"], "Join")
    first, key1 = await slack.click(join, user=ALICE, action_ts="1700000000.000100")
    again, key2 = await slack.click(join, user=ALICE, action_ts="1700000000.000100", retry_num=1)
    assert first.status == again.status == 200
    assert len(slack.responses_to(key1)) == 1
    assert slack.responses_to(key2) == []  # the retry: no second reply


async def test_forms_pick_people_from_slack(slack: SlackHarness) -> None:
    """A form field of kind "user" is a people picker; the picked person reaches the command as a mention."""
    form = Form("Grant a role", "Grant", (FormField("user", "Person", kind="user"), FormField("role", "Role")),
                "role grant {user} {role}")
    rendered = render(Message(summary="Roles", blocks=(Actions((Button("Grant a role", form=form),)),)))
    await slack.click(button(rendered.blocks, "Grant a role"), user=ADMIN)
    view = slack.fake.calls_to("views.open")[0].params["view"]
    assert view["blocks"][0]["element"]["type"] == "users_select"
    refused = await slack.submit(view, {"user": BOB, "role": "king"}, user=ADMIN)
    assert list(refused.json()["errors"]) == ["role"]
    accepted = await slack.submit(view, {"user": BOB, "role": "hr"}, user=ADMIN)
    assert accepted.status == 200 and not accepted.body
    (posted,) = slack.fake.calls_to("chat.postEphemeral")
    assert "Bérénice now has the hr role." in block_text(posted.params["blocks"])
    with session_scope(slack.app.engine) as session:
        bob = session.exec(select(Account).where(Account.user_id == BOB)).one()
        assert [r for p, r in people.role_holders(session) if p.id == bob.person_id] == [Role.HR.value]
