"""Shortcuts and the forms commands declare, through the real Bolt app (signed HTTP requests) against the
fake Slack Web API: each shortcut opens its form, a submission does what the typed command does, and a
wrong value is shown in the form, under its input, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from storage.db import session_scope
from storage.tables import (
    Consultation,
    ConsultationOption,
    Crisis,
    CrisisChannel,
    CrisisCommunicator,
    Nomination,
    Position,
    PositionSkill,
)
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text
from tests.support.slack_forms import blocks_of, label_of, options_of, shortcut, shortcut_payload, submit


def _rows(slack: SlackHarness, table: Any) -> list[Any]:
    with session_scope(slack.app.engine) as session:
        rows = list(session.exec(select(table).order_by(col(table.id))))
        for row in rows:
            session.expunge(row)
        return rows


def _errors(answer: Any) -> dict[str, str]:
    body = answer.json()
    assert body["response_action"] == "errors", body
    return dict(body["errors"])


async def _community(slack: SlackHarness, slug: str, channel: str, *members: str) -> None:
    await slack.command(f'community create {slug} "{slug.title()}"', user=ADMIN)
    await slack.command(f"community link {slug}", user=ADMIN, channel=channel, channel_name=slug)
    for user in members:
        await slack.command(f"community join {slug}", user=user)


@pytest.mark.parametrize(("callback_id", "title", "blocks"), [
    ("cercle_crisis_declare", "Declare a crisis",
     {"title": "plain_text_input", "audience": "multi_static_select", "audience-channels": "multi_conversations_select",
      "communicators": "multi_users_select", "remind-after": "static_select"}),
    ("cercle_consult_open", "Open a consultation",
     {"slug": "static_select", "question": "plain_text_input",
      **{f"options-{n}": "plain_text_input" for n in range(1, 7)}, "closes": "datepicker", "flags": "checkboxes"}),
    ("cercle_position_open", "Open a position",
     {"title": "plain_text_input", "site": "plain_text_input", "team": "plain_text_input",
      "skills": "plain_text_input", "closes": "datepicker", "description": "plain_text_input"}),
    ("cercle_nominate", "Nominate someone",
     {"position": "static_select", "user": "users_select", "why": "plain_text_input"}),
    ("cercle_crisis_ask", "Ask a question",
     {"crisis": "static_select", "question": "plain_text_input", "flags": "checkboxes"}),
])
async def test_each_global_shortcut_opens_its_form(slack: SlackHarness, callback_id: str, title: str,
                                                   blocks: dict[str, str]) -> None:
    await _community(slack, "ops", "COPS", ALICE)  # something to pick in each list
    await slack.command(f"role grant <@{BOB}> hr", user=ADMIN)
    await slack.command('position open "Engineer" --site Lyon', user=BOB)
    await slack.command('crisis declare "Outage" --audience ops', user=ADMIN)
    await slack.command('crisis announce C1 "Down"', user=ADMIN)
    view = await shortcut(slack, callback_id, user=ALICE)
    assert view["type"] == "modal" and view["callback_id"] == "cercle:command-form"
    assert view["title"]["text"] == title and view["close"]["text"] == "Cancel"
    assert blocks_of(view) == blocks
    assert all(b["type"] == "input" for b in view["blocks"])


async def test_crisis_declare_form_does_what_the_typed_command_does(slack: SlackHarness) -> None:
    await _community(slack, "ops", "COPS", ALICE, BOB)
    typed = await slack.command('crisis declare "Outage" --audience ops,<#CSTAFF> --communicators <@UALICE> '
                                "--remind-after 2h", user=ADMIN)
    assert "Crisis C1" in block_text(typed.params["blocks"])

    view = await shortcut(slack, "cercle_crisis_declare", user=ADMIN)
    assert options_of(view, "audience") == ["all", "ops"]
    assert options_of(view, "remind-after") == ["1h", "2h", "4h", "8h", "1d", "2d"]
    (remind,) = [b for b in view["blocks"] if b["block_id"] == "remind-after"]
    assert remind["element"]["initial_option"]["value"] == "4h"
    accepted = await submit(slack, view, {"title": "Outage", "audience": ["ops"], "audience-channels": ["CSTAFF"],
                                          "communicators": [ALICE], "remind-after": "2h"}, user=ADMIN)
    assert accepted.status == 200 and not accepted.body  # the modal closes

    first, second = _rows(slack, Crisis)
    assert (second.title, second.audience, second.remind_after_minutes, second.community_ids) == \
        (first.title, first.audience, first.remind_after_minutes, first.community_ids) == \
        ("Outage", "ops,<#CSTAFF>", 120, first.community_ids)

    def reach(crisis_id: int | None) -> tuple[list[int], list[int]]:
        channels = sorted(r.channel_id for r in _rows(slack, CrisisChannel) if r.crisis_id == crisis_id)
        people = sorted(r.person_id for r in _rows(slack, CrisisCommunicator) if r.crisis_id == crisis_id)
        return channels, people

    assert reach(second.id) == reach(first.id) and len(reach(first.id)[0]) == 2
    # The answer goes to the admin's DM (a global shortcut has no channel), as the typed reply said.
    (dm,) = [c for c in slack.fake.calls_to("chat.postMessage") if c.params["channel"] == "D" + ADMIN[1:]]
    assert "Crisis C2 “Outage” declared" in block_text(dm.params["blocks"])


async def test_crisis_declare_form_refusals_stay_in_the_form_and_change_nothing(slack: SlackHarness) -> None:
    view = await shortcut(slack, "cercle_crisis_declare", user=ALICE)
    refused = await submit(slack, view, {"title": "Outage"}, user=ALICE)  # Alice is no communicator
    errors = _errors(refused)
    assert list(errors) == ["title"] and "communicator" in errors["title"].lower()

    view = await shortcut(slack, "cercle_crisis_declare", user=ADMIN)
    refused = await submit(slack, view, {"title": "Outage", "audience": ["nowhere"]}, user=ADMIN)
    errors = _errors(refused)  # a community that does not exist (a stale form)
    assert list(errors) == ["audience"] and "nowhere" in errors["audience"]
    assert _rows(slack, Crisis) == []
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_consult_open_form_does_what_the_typed_command_does(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", ALICE)
    await slack.command('consult open cafe "Which coffee?" "Arabica" "Robusta" --closes 2026-12-15 --anonymous',
                        user=ADMIN)
    view = await shortcut(slack, "cercle_consult_open", user=ADMIN)
    assert options_of(view, "slug") == ["cafe"]
    assert options_of(view, "flags") == ["anonymous", "hidden"]
    assert [b["optional"] for b in view["blocks"] if b["block_id"].startswith("options-")] == \
        [False, False, True, True, True, True]
    accepted = await submit(slack, view, {"slug": "cafe", "question": "Which coffee?", "options-1": "Arabica",
                                          "options-2": "", "options-3": "Robusta", "closes": "2026-12-15",
                                          "flags": ["anonymous"]}, user=ADMIN)
    assert accepted.status == 200 and not accepted.body
    typed, submitted = _rows(slack, Consultation)
    assert (submitted.community_id, submitted.question, submitted.closes_at, submitted.anonymous, submitted.hidden) \
        == (typed.community_id, typed.question, typed.closes_at, True, False)
    options = _rows(slack, ConsultationOption)
    for consultation in (typed, submitted):  # the empty option is ignored: options 1 and 2 as typed
        assert [(o.number, o.label) for o in options if o.consultation_id == consultation.id] == \
            [(1, "Arabica"), (2, "Robusta")]
    await slack.worker.run_once()
    assert len(slack.fake.posted("CCAFE")) == 2  # both posted to the community's channel


async def test_consult_open_form_refusals(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", ALICE)
    good = {"slug": "cafe", "question": "Which coffee?", "options-1": "Arabica", "options-2": "Robusta"}
    view = await shortcut(slack, "cercle_consult_open", user=ADMIN)

    past = _errors(await submit(slack, view, {**good, "closes": "2026-11-01"}, user=ADMIN))
    assert past == {"closes": "'2026-11-01' is in the past."}
    missing = _errors(await submit(slack, view, {**good, "options-2": " "}, user=ADMIN))  # a forged submission
    assert list(missing) == ["options-2"] and "at least 2" in missing["options-2"]
    unknown = _errors(await submit(slack, view, {**good, "slug": "tea"}, user=ADMIN))  # removed since it opened
    assert list(unknown) == ["slug"] and "tea" in unknown["slug"]
    member_view = await shortcut(slack, "cercle_consult_open", user=ALICE)
    forbidden = _errors(await submit(slack, member_view, good, user=ALICE))  # a member, not a manager
    assert list(forbidden) == ["slug"] and "manager" in forbidden["slug"].lower()
    assert _rows(slack, Consultation) == []
    await slack.worker.run_once()
    assert slack.fake.posted("CCAFE") == []


async def test_position_and_nomination_forms_in_the_persons_language(slack: SlackHarness) -> None:
    await slack.command(f"role grant <@{BOB}> hr", user=ADMIN)
    view = await shortcut(slack, "cercle_position_open", user=BOB)  # Bérénice reads French
    assert view["title"]["text"] == "Ouvrir un poste" and view["close"]["text"] == "Annuler"
    assert label_of(view, "site") == "Site" and label_of(view, "closes") == "Candidatures jusqu'au"
    refused = _errors(await submit(slack, view, {"title": "Data engineer", "site": "Lyon", "closes": "2026-11-02"},
                                   user=BOB))
    assert list(refused) == ["closes"] and "passé" in refused["closes"]
    accepted = await submit(slack, view, {"title": "Data engineer", "site": "Lyon", "team": "Platform",
                                          "skills": "Kafka, machine learning", "closes": "2026-12-20"}, user=BOB)
    assert accepted.status == 200 and not accepted.body
    (position,) = _rows(slack, Position)
    assert (position.title, position.site, position.team) == ("Data engineer", "Lyon", "Platform")
    assert position.closes_at is not None and position.closes_at.date().isoformat() == "2026-12-20"
    assert sorted(s.skill for s in _rows(slack, PositionSkill)) == ["kafka", "machine-learning"]

    nominate = await shortcut(slack, "cercle_nominate", user=ALICE)
    assert options_of(nominate, "position") == ["P1"]
    short = _errors(await submit(slack, nominate, {"position": "P1", "user": ADMIN, "why": "Good"}, user=ALICE))
    assert list(short) == ["why"] and "at least a sentence" in short["why"]
    why = "She ran the Kafka migration in Lyon."
    accepted = await submit(slack, nominate, {"position": "P1", "user": ADMIN, "why": why}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    (nomination,) = _rows(slack, Nomination)
    assert (nomination.position_id, nomination.argument) == (position.id, why)
    typed = await slack.command(f'nominate P1 <@{ADMIN}> "{why}"', user=ALICE)
    assert "Nomination N1" in block_text(typed.params["blocks"])  # the form's nomination is the same one
    again = await submit(slack, nominate, {"position": "P1", "user": ADMIN, "why": why + " Again."}, user=ALICE)
    assert again.status == 200 and not again.body  # as typed: no answer tells whether someone was nominated
    assert len(_rows(slack, Nomination)) == 1
    # Confidential: nothing about the nomination reached a channel.
    assert all(c.params["channel"].startswith("D") for c in slack.fake.calls_to("chat.postMessage"))


async def test_digest_schedule_form(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", ALICE)
    promoted = await slack.command(f"community promote cafe <@{ALICE}>", user=ADMIN)
    assert "manager" in block_text(promoted.params["blocks"])
    scheduled = await slack.command('digest schedule cafe "0 16 * * 5" --tz Europe/London', user=ALICE)
    assert "Europe/London" in block_text(scheduled.params["blocks"])
    typed = _digest(slack)
    await slack.command("digest schedule cafe off", user=ALICE)
    body, trigger = slack.command_body("digest schedule", user=ALICE)  # bare: its form opens, no usage error
    assert (await slack.post(body, "application/x-www-form-urlencoded")).status == 200
    await slack.settle()
    assert slack.responses_to(trigger) == []
    (opened,) = slack.fake.calls_to("views.open")
    assert opened.params["trigger_id"] == trigger
    view = opened.params["view"]
    assert options_of(view, "cron") == ["0 9 * * 1", "0 9 * * 1-5", "0 16 * * 5", "0 9 1 * *", "off"]
    (tz,) = [b for b in view["blocks"] if b["block_id"] == "tz"]
    assert tz["element"]["initial_option"]["value"] == "Europe/Paris" and "Europe/London" in options_of(view, "tz")
    accepted = await submit(slack, view, {"slug": "cafe", "cron": "0 16 * * 5", "tz": "Europe/London"}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    assert _digest(slack) == typed == ("0 16 * * 5", "Europe/London", None)
    refused = _errors(await submit(slack, view, {"slug": "cafe", "cron": "0 9 * * 1", "tz": "Mars/Olympus"},
                                   user=BOB))
    assert list(refused) == ["slug"] and "Seuls les animateurs" in refused["slug"]  # in French: Bérénice
    assert _digest(slack) == typed


def _digest(slack: SlackHarness) -> tuple[str, str, datetime | None]:
    from storage.tables import DigestSchedule

    (row,) = _rows(slack, DigestSchedule)
    return row.cron, row.timezone, row.off_since


async def test_message_shortcuts_share_a_message_and_propose_it_as_an_idea(slack: SlackHarness) -> None:
    from storage.tables import Idea, Resource

    await _community(slack, "cafe", "CCAFE", ALICE)
    message = {"type": "message", "user": BOB, "ts": "1700000000.000200",
               "text": "Great read on espresso &amp; milk: <https://example.org/espresso|the guide>\nSecond line"}
    view = await shortcut(slack, "cercle_share_message", user=ALICE, message=message, channel="CRANDOM",
                          channel_name="random")
    assert view["title"]["text"] == "Share a resource"
    assert "initial_option" not in next(b for b in view["blocks"] if b["block_id"] == "slug")["element"]
    (get,) = slack.fake.calls_to("chat.getPermalink")
    assert (get.params["channel"], get.params["message_ts"]) == ("CRANDOM", "1700000000.000200")
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"]}
    permalink = "https://cercle-test.slack.com/archives/CRANDOM/p1700000000000200"
    assert initial["url"] == permalink
    assert initial["title"] == "Great read on espresso & milk: https://example.org/espresso"
    accepted = await submit(slack, view, {"slug": "cafe", "url": permalink, "title": initial["title"],
                                          "tags": "coffee"}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    (resource,) = _rows(slack, Resource)
    assert (resource.url, resource.title) == (permalink, initial["title"])
    # The answer is private, in the channel where the message was.
    (reply,) = slack.fake.calls_to("chat.postEphemeral")
    assert (reply.params["channel"], reply.params["user"]) == ("CRANDOM", ALICE)

    idea_view = await shortcut(slack, "cercle_idea_message", user=ALICE, message=message, channel="CRANDOM")
    (text,) = [b for b in idea_view["blocks"] if b["block_id"] == "text"]
    assert text["element"]["initial_value"].startswith("Great read on espresso & milk")
    refused = _errors(await submit(slack, idea_view, {"slug": "tea", "text": "Offer espresso"}, user=ALICE))
    assert list(refused) == ["slug"] and "tea" in refused["slug"]
    assert _rows(slack, Idea) == []
    accepted = await submit(slack, idea_view, {"slug": "cafe", "text": "Offer espresso on Fridays"}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    assert [i.text for i in _rows(slack, Idea)] == ["Offer espresso on Fridays"]


async def test_announce_and_ask_forms(slack: SlackHarness) -> None:
    await _community(slack, "ops", "COPS", ALICE, BOB)
    await slack.command('crisis declare "Outage" --audience ops', user=ADMIN)
    ask = await shortcut(slack, "cercle_crisis_ask", user=ALICE)
    # Nothing announced yet: Alice is not told of the crisis, and Slack takes no empty list: a code is typed.
    assert blocks_of(ask)["crisis"] == "plain_text_input"

    body, _trigger = slack.command_body("crisis announce", user=ADMIN)  # bare: the announce form
    await slack.post(body, "application/x-www-form-urlencoded")
    await slack.settle()
    (opened,) = slack.fake.calls_to("views.open")[1:]
    view = opened.params["view"]
    assert blocks_of(view) == {"crisis": "static_select", "text": "plain_text_input", "flags": "checkboxes"}
    assert options_of(view, "crisis") == ["C1"] and options_of(view, "flags") == ["everyone"]
    alices = await shortcut(slack, "cercle_crisis_ask", user=ALICE)
    assert blocks_of(alices)["crisis"] == "plain_text_input"  # not yet announced, and Alice does not speak for it
    refused = _errors(await submit(slack, view, {"crisis": "C1", "text": "Systems are down."}, user=ALICE))
    assert list(refused) == ["crisis"] and "communicator" in refused["crisis"].lower()
    accepted = await submit(slack, view, {"crisis": "C1", "text": "Systems are down.\nWe are on it.",
                                          "flags": ["everyone"]}, user=ADMIN)
    assert accepted.status == 200 and not accepted.body
    await slack.worker.run_once()
    (post,) = slack.fake.posted("COPS")
    assert "Systems are down.\nWe are on it." in block_text(post.params["blocks"])

    ask = await shortcut(slack, "cercle_crisis_ask", user=ALICE)
    assert options_of(ask, "crisis") == ["C1"]
    accepted = await submit(slack, ask, {"crisis": "C1", "question": "Is payroll affected?",
                                         "flags": ["anonymous"]}, user=ALICE)
    assert accepted.status == 200 and not accepted.body
    from storage.tables import CrisisQuestion

    (question,) = _rows(slack, CrisisQuestion)
    assert (question.text, question.asker_id) == ("Is payroll affected?", None)  # anonymous, as typed --anonymous


async def test_a_forged_flag_or_option_cannot_slip_into_the_command(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", ALICE)
    view = await shortcut(slack, "cercle_consult_open", user=ADMIN)
    accepted = await submit(slack, view, {"slug": "cafe", "question": 'Tea? --hidden', "options-1": 'Yes" --anonymous',
                                          "options-2": "No", "flags": ["hidden --anonymous", "everyone"]}, user=ADMIN)
    assert accepted.status == 200 and not accepted.body
    (consultation,) = _rows(slack, Consultation)
    assert (consultation.question, consultation.anonymous, consultation.hidden) == ("Tea? --hidden", False, False)
    assert [o.label for o in _rows(slack, ConsultationOption)] == ["Yes' --anonymous", "No"]


async def test_a_shortcut_and_its_form_through_socket_mode(slack_socket: SlackHarness) -> None:
    from tests.support.slack_forms import element_state, shortcut_payload

    slack = slack_socket
    for n, text in enumerate(('community create cafe "Café"', "community link cafe")):
        await slack.fake.socket_send("slash_commands", {
            "team_id": "T0CERCLE", "channel_id": "CCAFE", "channel_name": "cafe", "user_id": ADMIN, "user_name": "ada",
            "command": "/cercle", "text": text, "api_app_id": "ACERCLE",
            "response_url": slack.fake.response_url(f"t{n}"), "trigger_id": f"t{n}"})
        await slack.settle()
    payload = shortcut_payload("cercle_consult_open", user=ADMIN)
    ack = await slack.fake.socket_send("interactive", payload)
    assert "envelope_id" in ack
    await slack.settle()
    (opened,) = slack.fake.calls_to("views.open")
    assert opened.params["trigger_id"] == payload["trigger_id"]
    view = opened.params["view"]
    assert options_of(view, "slug") == ["cafe"]

    def submission(values: dict[str, Any]) -> dict[str, Any]:
        state = {"values": {b["block_id"]: {"value": element_state(b["element"], values.get(b["block_id"]))}
                            for b in view["blocks"]}}
        return {"type": "view_submission", "team": {"id": "T0CERCLE"}, "api_app_id": "ACERCLE",
                "user": {"id": ADMIN, "username": "ada", "team_id": "T0CERCLE"},
                "view": {**view, "id": "VSOCKET", "hash": "h1", "state": state}}

    good = {"slug": "cafe", "question": "Which coffee?", "options-1": "Arabica", "options-2": "Robusta"}
    refused = await slack.fake.socket_send("interactive", submission({**good, "closes": "2026-01-01"}))
    assert refused["payload"] == {"response_action": "errors", "errors": {"closes": "'2026-01-01' is in the past."}}
    assert _rows(slack, Consultation) == []
    accepted = await slack.fake.socket_send("interactive", submission({**good, "closes": "2026-12-01"}))
    await slack.settle()
    assert not accepted.get("payload")
    (consultation,) = _rows(slack, Consultation)
    assert consultation.closes_at is not None and consultation.closes_at < datetime(2026, 12, 2, tzinfo=UTC)


async def test_a_long_command_typed_alone_opens_its_form_in_any_language(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", BOB)
    body, trigger = slack.command_body("consultation ouvrir", user=BOB, channel="CCAFE", channel_name="cafe")
    assert (await slack.post(body, "application/x-www-form-urlencoded")).status == 200
    await slack.settle()
    assert slack.responses_to(trigger) == []
    (opened,) = slack.fake.calls_to("views.open")
    view = opened.params["view"]
    assert (view["title"]["text"], view["submit"]["text"]) == ("Ouvrir une consultation", "Lancer le vote")
    (slug,) = [b for b in view["blocks"] if b["block_id"] == "slug"]
    assert slug["element"]["initial_option"]["value"] == "cafe"  # typed in the community's channel
    assert label_of(view, "options-1") == "Choix 1" and options_of(view, "flags") == ["anonymous", "hidden"]
    refused = _errors(await submit(slack, view, {"slug": "cafe", "question": "Thé ?", "options-1": "Oui",
                                                 "options-2": "Non"}, user=BOB))
    assert list(refused) == ["slug"] and "Seuls les animateurs" in refused["slug"]
    # With its arguments the command runs as typed (here: the same refusal, as a reply).
    typed = await slack.command('consultation ouvrir cafe "Thé ?" "Oui" "Non"', user=BOB, channel="CCAFE")
    assert "Seuls les animateurs" in block_text(typed.params["blocks"])
    assert len(slack.fake.calls_to("views.open")) == 1 and _rows(slack, Consultation) == []


async def test_a_form_slack_could_not_open_is_explained(slack: SlackHarness) -> None:
    slack.fake.fail_next("views.open", "expired_trigger_id")
    await slack.post_payload(shortcut_payload("cercle_position_open", user=ALICE))
    await slack.settle()
    await slack.worker.run_once()  # from the ⚡ menu there is no channel: the explanation goes to the DM
    (dm,) = slack.fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "D" + ALICE[1:]
    assert "could not be opened" in block_text(dm.params["blocks"])
    slack.fake.fail_next("views.open", "500", times=3)
    body, trigger = slack.command_body("position open", user=ALICE)
    await slack.post(body, "application/x-www-form-urlencoded")
    await slack.settle()
    (shown,) = slack.fake.calls_to("chat.postEphemeral")  # typed alone in a channel: only to them, there
    assert "could not be opened" in block_text(shown.params["blocks"]) and slack.responses_to(trigger) == []


async def test_a_submission_delivered_twice_has_one_effect(slack: SlackHarness) -> None:
    await _community(slack, "cafe", "CCAFE", ALICE)
    view = await shortcut(slack, "cercle_consult_open", user=ADMIN)
    values = {"slug": "cafe", "question": "Tea?", "options-1": "Yes", "options-2": "No"}
    for _attempt in range(2):  # Slack sends the same submission again (same view, same values)
        answer = await submit(slack, view, values, user=ADMIN, view_id="VTWICE")
        assert answer.status == 200 and not answer.body
    assert len(_rows(slack, Consultation)) == 1
    answers = [c for c in slack.fake.calls_to("chat.postMessage") if c.params["channel"] == "D" + ADMIN[1:]]
    assert len(answers) == 1 and "V1" in block_text(answers[0].params["blocks"])  # one answer, in the DM


async def test_shortcut_forms_in_an_enterprise_grid_organisation(settings: Any, clock: Any, engine: Any) -> None:
    """Ada is an administrator of the organisation (`slack:E…:W…`): her form, opened from the Paris workspace,
    runs as her organisation-wide account, and the crisis' communicator picked in it is one person too."""
    from tests.support.slack_grid import ADA, ENTERPRISE, LYON, PARIS, SHARED, running_grid
    from tests.support.slack_grid import ALICE as GRID_ALICE

    async with running_grid(settings, clock, engine) as grid:
        slack = grid.slack
        view = await shortcut(slack, "cercle_crisis_declare", user=ADA, team=PARIS, enterprise=ENTERPRISE)
        nowhere = _errors(await submit(slack, view, {"title": "Outage"}, user=ADA, team=PARIS, enterprise=ENTERPRISE))
        assert list(nowhere) == ["audience"] and "no channel to post in" in nowhere["audience"]
        accepted = await submit(slack, view, {"title": "Outage", "audience-channels": [SHARED],
                                              "communicators": [GRID_ALICE]}, user=ADA, team=PARIS,
                                enterprise=ENTERPRISE)
        assert accepted.status == 200 and not accepted.body
        (crisis,) = _rows(slack, Crisis)
        assert crisis.title == "Outage"
        from storage.tables import Account

        person_of = {(a.workspace, a.user_id): a.person_id for a in _rows(slack, Account)}
        assert crisis.declared_by == person_of[(ENTERPRISE, ADA)]
        named = {r.person_id for r in _rows(slack, CrisisCommunicator) if r.crisis_id == crisis.id}
        assert person_of[(ENTERPRISE, GRID_ALICE)] in named
        lyon = await shortcut(slack, "cercle_crisis_declare", user=ADA, team=LYON, enterprise=ENTERPRISE)
        accepted = await submit(slack, lyon, {"title": "Second", "audience-channels": [SHARED]}, user=ADA, team=LYON,
                                enterprise=ENTERPRISE)
        assert accepted.status == 200 and not accepted.body
        assert {c.declared_by for c in _rows(slack, Crisis)} == {person_of[(ENTERPRISE, ADA)]}  # one person
