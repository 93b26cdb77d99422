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
    Position,
    PositionSkill,
)
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text
from tests.support.slack_forms import blocks_of, label_of, options_of, shortcut, submit


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
     {"slug": "static_select", "question": "plain_text_input", **{f"options-{n}": "plain_text_input" for n in range(1, 7)},
      "closes": "datepicker", "flags": "checkboxes"}),
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
