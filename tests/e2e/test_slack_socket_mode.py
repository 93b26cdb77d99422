"""Socket Mode: the same app over a websocket from `apps.connections.open` (no public URL needed)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from adapters.slack import app as slack_app
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Community
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, FakeSlack
from tests.support.slack import ADMIN, ALICE, APP_TOKEN, USERS, SlackHarness, block_text, button, new_id, running_slack


def _command(slack: SlackHarness, text: str, user: str, trigger: str) -> dict[str, str]:
    return {"team_id": TEAM_ID, "channel_id": "CGENERAL", "channel_name": "general", "user_id": user,
            "user_name": user.lower(), "command": "/cercle", "text": text, "api_app_id": "ACERCLE",
            "response_url": slack.fake.response_url(trigger), "trigger_id": trigger}


async def test_socket_mode_commands_and_events(slack_socket: SlackHarness) -> None:
    slack = slack_socket
    (opened,) = slack.fake.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    trigger = new_id("trig.")
    ack = await slack.fake.socket_send("slash_commands",
                                       _command(slack, 'community create garden "Garden"', ADMIN, trigger))
    assert "envelope_id" in ack
    await slack.settle()
    assert "Community Garden (garden) created" in block_text(slack.response(trigger).params["blocks"])

    # Slack redelivers the envelope (same trigger): no second effect.
    await slack.fake.socket_send("slash_commands", _command(slack, 'community create garden "Garden"', ADMIN, trigger),
                                 retry_attempt=1)
    await slack.settle()
    assert len(slack.responses_to(trigger)) == 1
    with session_scope(slack.app.engine) as session:
        assert [c.slug for c in session.exec(select(Community))] == ["garden"]

    event = {"token": "legacy", "team_id": TEAM_ID, "api_app_id": "ACERCLE", "type": "event_callback",
             "event_id": "Ev0SOCKET", "event_time": 1700000000,
             "event": {"type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER_ID}> community join garden",
                       "channel": "CGENERAL", "ts": "1700000000.000700"}}
    await slack.fake.socket_send("events_api", event)
    await slack.settle()
    (reply,) = slack.fake.calls_to("chat.postEphemeral")
    assert "Welcome to Garden" in block_text(reply.params["blocks"])

    async with slack.session.get(f"http://127.0.0.1:{slack.http.bound_port}/healthz") as response:
        body = await response.json()
    assert body["checks"]["slack"] == {"ok": True, "detail": "team T0CERCLE (socket mode)"}


async def test_socket_mode_does_not_open_the_http_route(slack_socket: SlackHarness) -> None:
    body, _trigger = slack_socket.command_body("community list")
    answer = await slack_socket.post(body, "application/x-www-form-urlencoded")
    assert answer.status in (404, 405)


async def test_a_refused_connection_is_reported_and_retried(settings: Settings, clock: FrozenClock, engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(slack_app, "CONNECT_WAIT", 0.1)
    monkeypatch.setattr(slack_app, "PING_INTERVAL", 0.2)
    fake = FakeSlack(users=USERS)
    fake.fail_next("apps.connections.open", "invalid_auth", times=10_000)  # refused until the token is fixed
    async with running_slack(settings, clock, engine, socket_mode=True, fake=fake) as slack:
        assert "Socket Mode is not connected yet; check SLACK_APP_TOKEN" in caplog.text
        assert "invalid_auth" in caplog.text and APP_TOKEN not in caplog.text
        assert await slack.adapter.health() == (False, "socket mode: disconnected")
        await fake.wait_for(lambda: len(fake.calls_to("apps.connections.open")) >= 2)  # still trying
        fake.failures["apps.connections.open"].clear()  # the operator fixed the app
        await fake.socket_connected(timeout=10)
        for _ in range(100):
            if (await slack.adapter.health())[0]:
                break
            await asyncio.sleep(0.05)
        assert await slack.adapter.health() == (True, "team T0CERCLE (socket mode)")


async def test_socket_mode_buttons_and_modal_errors(slack_socket: SlackHarness) -> None:
    """In Socket Mode a modal's refusal travels back in the envelope's acknowledgement."""
    slack = slack_socket
    trigger = new_id("trig.")
    await slack.fake.socket_send("slash_commands", _command(slack, "community list", ALICE, trigger))
    await slack.settle()
    create = button(slack.response(trigger).params["blocks"], "Create a community")
    click, _key = slack.action_payload(create, user=ALICE)
    await slack.fake.socket_send("interactive", click)
    await slack.settle()
    view = slack.fake.calls_to("views.open")[0].params["view"]
    values = {b["block_id"]: {"value": {"type": "plain_text_input", "value": v}}
              for b, v in zip(view["blocks"], ["No Good", "Runners", None, None], strict=True)}
    submission = {"type": "view_submission", "team": {"id": TEAM_ID}, "user": {"id": ALICE, "team_id": TEAM_ID},
                  "trigger_id": new_id("trig."), "view": {**view, "id": "V0SOCK", "state": {"values": values}}}
    ack = await slack.fake.socket_send("interactive", submission)
    assert ack["payload"]["response_action"] == "errors"
    assert list(ack["payload"]["errors"]) == ["slug"]
    values["slug"]["value"]["value"] = "runners"
    ack = await slack.fake.socket_send("interactive", submission)
    assert not ack.get("payload")
    await slack.settle()
    with session_scope(slack.app.engine) as session:
        assert [c.slug for c in session.exec(select(Community))] == ["runners"]
