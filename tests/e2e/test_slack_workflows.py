"""Workflow Builder custom steps: signed `function_executed` events into the real Bolt app; the step runs the
same command as `/cercle`, as the person who runs the workflow, and completes on the fake Slack Web API
(`functions.completeSuccess` with outputs, or `functions.completeError` with the reason)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Consultation
from tests.fakes.slack_api import TEAM_ID, Call
from tests.support.slack import ADMIN, SlackHarness, new_id
from tests.support.slack import ALICE as ALICE_PLAIN
from tests.support.slack_grid import ADA, ALICE, BOB, LYON, PARIS, SHARED, GridSlack, running_grid

STEP_TOKEN = "xwfp-step-token"


@pytest.fixture
async def grid(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[GridSlack]:
    async with running_grid(settings, clock, engine) as harness:
        await harness.command('community create ops "Ops"', user=ADA, team=PARIS)
        await harness.command("community link ops", user=ADA, team=PARIS)
        await harness.command("community join ops", user=ALICE, team=LYON)
        await harness.command("community join ops", user=BOB, team=LYON)
        yield harness


def runs_as(user: str) -> dict[str, Any]:
    return {"user_context": {"id": user, "secret": "c2VjcmV0"}}


def _only(grid: GridSlack, execution: str) -> Call:
    done = grid.completions(execution)
    assert len(done) == 1, [c.method for c in done]
    assert done[0].token == STEP_TOKEN  # completed with the execution's own token
    assert done[0].answer.get("ok") is True
    return done[0]


def succeeded(grid: GridSlack, execution: str) -> dict[str, Any]:
    call = _only(grid, execution)
    assert call.method == "functions.completeSuccess", call.params
    outputs = call.params["outputs"]
    assert isinstance(outputs, dict)
    return outputs


def failed(grid: GridSlack, execution: str) -> str:
    call = _only(grid, execution)
    assert call.method == "functions.completeError", call.params
    error = str(call.params["error"])
    assert error and "Traceback" not in error
    return error


async def _deliver(grid: GridSlack) -> list[Call]:
    while await grid.slack.worker.run_once():
        pass
    return grid.fake.posted(SHARED)


# -- Send a crisis announcement -------------------------------------------------------------------------------
async def test_announcement_step_announces_and_completes_with_outputs(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    execution = await grid.run_step("crisis_announce", {**runs_as(ADA), "crisis": "C1",
                                                        "text": 'Servers are "down"', "everyone": False}, team=LYON)
    outputs = succeeded(grid, execution)
    assert outputs["crisis"] == "C1"
    assert "Announcement of C1 queued for 1 channel" in outputs["message"]
    posts = await _deliver(grid)
    assert len(posts) == 1 and "Servers are 'down'" in str(posts[0].params)
    # Those who receive it acknowledge it as usual.
    acked = await grid.command("crisis ack C1", user=ALICE, team=PARIS)
    assert "recorded" in str(acked.params)


async def test_announcement_step_fails_for_someone_who_is_not_a_communicator(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    execution = await grid.run_step("crisis_announce", {**runs_as(ALICE), "crisis": "C1", "text": "Fake news"})
    assert failed(grid, execution) == "Only the communicators of C1 may do this."
    assert await _deliver(grid) == []
    # In the language of the person who runs the workflow.
    execution = await grid.run_step("crisis_announce", {**runs_as(BOB), "crisis": "C1", "text": "Fausse alerte"})
    assert failed(grid, execution) == "Seuls les communicants de C1 peuvent faire cela."
    assert await _deliver(grid) == []


async def test_announcement_step_refuses_bad_inputs_with_the_reason(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    execution = await grid.run_step("crisis_announce", {**runs_as(ADA), "crisis": "V1", "text": "x"})
    assert failed(grid, execution) == "“V1” is not a crisis code like C1."
    execution = await grid.run_step("crisis_announce", {**runs_as(ADA), "crisis": "C1", "text": "  "})
    assert failed(grid, execution) == "The step's input “announcement” is empty."
    execution = await grid.run_step("crisis_announce", {**runs_as(ADA), "crisis": "C9", "text": "x"})
    assert "C9" in failed(grid, execution)
    assert await _deliver(grid) == []


async def test_a_step_runs_only_as_the_person_slack_vouches_for(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    # A plain user id input could name anyone (an admin): it is not taken as the person who runs the step.
    execution = await grid.run_step("crisis_announce", {"user": ADA, "crisis": "C1", "text": "x"})
    assert "Person who used this workflow" in failed(grid, execution)
    assert await _deliver(grid) == []


async def test_a_redelivered_step_event_has_no_second_effect(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    body, execution = grid.function_body("crisis_announce", {**runs_as(ADA), "crisis": "C1", "text": "Once"},
                                         event_id="Ev0STEP")
    for retry in (None, 1, 2):
        answer = await grid.slack.post(body, "application/json", retry_num=retry)
        assert answer.status == 200
        await grid.slack.settle()
    succeeded(grid, execution)
    assert len(await _deliver(grid)) == 1


# -- Open a consultation --------------------------------------------------------------------------------------
async def test_consultation_step_opens_it_and_outputs_its_code(grid: GridSlack) -> None:
    execution = await grid.run_step("consult_open", {**runs_as(ADA), "community": "ops", "question": "Which day?",
                                                     "options": ["Monday", "Friday"], "closes": "2d"})
    outputs = succeeded(grid, execution)
    assert outputs["consultation"] == "V1"
    assert "Consultation V1 opened and posted in 1 channel" in outputs["message"]
    posts = await _deliver(grid)
    assert len(posts) == 1 and "Which day?" in str(posts[0].params)


async def test_consultation_step_fails_for_a_member_and_on_bad_options(grid: GridSlack) -> None:
    execution = await grid.run_step("consult_open", {**runs_as(ALICE), "community": "ops", "question": "Which day?",
                                                     "options": ["Monday", "Friday"]})
    assert failed(grid, execution) == "Only the managers of 'ops' may do this."
    execution = await grid.run_step("consult_open", {**runs_as(ADA), "community": "ops", "question": "Which day?",
                                                     "options": ["Monday"]})
    assert failed(grid, execution) == "A consultation needs 2 to 10 options; the step got 1."
    execution = await grid.run_step("consult_open", {**runs_as(ADA), "community": "no such", "question": "Q?",
                                                     "options": ["a", "b"]})
    assert failed(grid, execution) == "“no such” is not a community slug."
    with session_scope(grid.slack.app.engine) as session:
        assert session.exec(select(func.count()).select_from(Consultation)).one() == 0
    assert await _deliver(grid) == []


# -- Post a community's digest now ----------------------------------------------------------------------------
async def test_digest_step_posts_it_once(grid: GridSlack) -> None:
    execution = await grid.run_step("digest_now", {**runs_as(ADA), "community": "ops"})
    outputs = succeeded(grid, execution)
    assert outputs["community"] == "ops"
    assert outputs["message"] == "The digest of Ops is posted in 1 channel."
    assert len(await _deliver(grid)) == 1
    again = await grid.run_step("digest_now", {**runs_as(ADA), "community": "ops"})
    assert "already posted for this period" in failed(grid, again)
    assert len(await _deliver(grid)) == 1


async def test_digest_step_fails_for_a_member_and_an_unknown_community(grid: GridSlack) -> None:
    execution = await grid.run_step("digest_now", {**runs_as(ALICE), "community": "ops"})
    assert failed(grid, execution) == "Only the managers of 'ops' may do this."
    execution = await grid.run_step("digest_now", {**runs_as(ADA), "community": "nowhere"})
    assert "nowhere" in failed(grid, execution)
    assert await _deliver(grid) == []


async def test_a_step_fails_cleanly_when_slack_does_not_answer(grid: GridSlack) -> None:
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    grid.fake.fail_next("conversations.open", "500", times=3)  # the client's retries included
    execution = await grid.run_step("crisis_announce", {**runs_as(ADA), "crisis": "C1", "text": "Down"})
    assert failed(grid, execution) == ("Slack did not let Cercle reach you; nothing was changed. "
                                       "Please run the workflow again.")
    assert await _deliver(grid) == []


async def test_a_step_arrives_over_socket_mode(slack_socket: SlackHarness) -> None:
    slack = slack_socket
    trigger = new_id("trig.")
    await slack.fake.socket_send("slash_commands", {
        "team_id": TEAM_ID, "channel_id": "CGENERAL", "channel_name": "general", "user_id": ADMIN,
        "user_name": "ada", "command": "/cercle", "text": 'community create ops "Ops"', "api_app_id": "ACERCLE",
        "response_url": slack.fake.response_url(trigger), "trigger_id": trigger})
    await slack.settle()
    harness = GridSlack(slack)
    body, execution = harness.function_body("digest_now", {**runs_as(ALICE_PLAIN), "community": "ops"},
                                            team=TEAM_ID)
    payload = json.loads(body)
    payload.pop("enterprise_id"), payload.pop("authorizations"), payload.pop("is_enterprise_install")
    ack = await slack.fake.socket_send("events_api", payload)
    assert "envelope_id" in ack
    await slack.settle()
    assert failed(harness, execution) == "Only the managers of 'ops' may do this."


async def test_a_step_started_by_a_click_runs_as_the_interactor(grid: GridSlack) -> None:
    def clicked_by(user: str) -> dict[str, Any]:
        return {"interactivity": {"interactor": {"id": user, "secret": "c2VjcmV0"},
                                  "interactivity_pointer": "123.456.abc"}}

    execution = await grid.run_step("digest_now", {**clicked_by(ALICE), "community": "ops"})
    assert failed(grid, execution) == "Only the managers of 'ops' may do this."
    execution = await grid.run_step("digest_now", {**clicked_by(ADA), "community": "ops"})
    assert succeeded(grid, execution)["community"] == "ops"
    assert len(await _deliver(grid)) == 1
