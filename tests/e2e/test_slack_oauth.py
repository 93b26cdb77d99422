"""Cercle installed in several Slack workspaces through OAuth ("Add to Slack"), end to end: the real
install pages and Bolt's OAuth flow against the fake Slack's `oauth.v2.access`, requests and outbox
deliveries in each workspace with that workspace's token, refused forged and replayed states,
sealed tokens, token rotation, and uninstalls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import FrozenClock
from bot.messages import Message
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import OutboxMessage, SlackInstallation, SlackOAuthState
from tests.support.slack import ADMIN, block_text
from tests.support.slack_oauth import OAuthHarness, running_slack_oauth

ACME, GLOBEX = "TACME", "TGLOBEX"
ALICE, GARY = "UALICE", "UGARY"  # Alice works at Acme, Gary at Globex


@pytest.fixture
async def slack(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[OAuthHarness]:
    async with running_slack_oauth(settings, clock, engine, teams=(ACME, GLOBEX)) as harness:
        yield harness


def _installations(engine: Engine) -> list[SlackInstallation]:
    with Session(engine) as session:
        return list(session.exec(select(SlackInstallation).order_by(col(SlackInstallation.team_id))))


def _token(slack: OAuthHarness, team: str) -> str:
    (token,) = slack.fake.oauth.bot_tokens(team)
    return token


async def _install_both(slack: OAuthHarness) -> None:
    await slack.install(ACME, "Acme")
    await slack.install(GLOBEX, "Globex")


async def test_two_workspaces_install_through_the_redirect_flow(slack: OAuthHarness) -> None:
    page = await slack.install(ACME, "Acme")
    assert "Cercle is installed in Acme" in page.text
    await slack.install(GLOBEX, "Globex")
    exchanges = slack.fake.calls_to("oauth.v2.access")
    assert [c.params["code"] for c in exchanges] == [f"code-{ACME}-1", f"code-{GLOBEX}-3"]
    assert all(c.params["client_secret"] == slack.fake.oauth.client_secret for c in exchanges)
    rows = _installations(slack.app.engine)
    assert [(r.team_id, r.team_name, r.bot_user_id, r.enterprise_id, r.is_enterprise_install) for r in rows] == [
        (ACME, "Acme", f"UBOT{ACME}", "", False), (GLOBEX, "Globex", f"UBOT{GLOBEX}", "", False)]
    assert all(r.uninstalled_at is None for r in rows)
    ok, detail = await slack.adapter.health()
    assert ok and detail == "oauth: 2 workspace(s) installed"


async def test_tokens_are_not_readable_in_the_database_without_the_key(slack: OAuthHarness) -> None:
    await slack.install(ACME, "Acme", rotation=True)
    token = _token(slack, ACME)
    (refresh,) = slack.fake.oauth.refresh_tokens
    with slack.app.engine.connect() as conn:
        dumped = " ".join(str(v) for row in conn.execute(text("SELECT * FROM slack_installation")) for v in row)
    assert "Acme" in dumped and token not in dumped and refresh not in dumped and "xox" not in dumped
    (row,) = _installations(slack.app.engine)
    assert slack.adapter.oauth is not None
    assert slack.adapter.oauth.store.box.open(row.bot_token) == token  # the key opens it


async def test_each_workspace_is_answered_with_its_own_token(slack: OAuthHarness) -> None:
    await _install_both(slack)
    acme = await slack.command_in(ACME, "profile show", user=ALICE)
    globex = await slack.command_in(GLOBEX, "profile show", user=GARY)
    assert acme.params["response_type"] == "ephemeral" and globex.params["response_type"] == "ephemeral"
    lookups = {c.params["user"]: c.token for c in slack.fake.calls_to("users.info")}
    assert lookups == {ALICE: _token(slack, ACME), GARY: _token(slack, GLOBEX)}
    # A direct message to the bot is answered with chat.postMessage, in the workspace it came from.
    await slack.event_in(GLOBEX, {"type": "message", "channel_type": "im", "channel": "DGARY", "user": GARY,
                                  "text": "help", "ts": "1700000000.000100"})
    (posted,) = slack.fake.calls_to("chat.postMessage")
    assert posted.params["channel"] == "DGARY" and posted.token == _token(slack, GLOBEX)


async def test_outbox_deliveries_use_the_token_of_the_target_workspace(slack: OAuthHarness) -> None:
    await _install_both(slack)
    await slack.command_in(ACME, 'community create writers "Writers"', user=ADMIN)
    for team, channel in ((ACME, "CACMEWRITERS"), (GLOBEX, "CGLOBEXWRITERS")):  # one community, two workspaces
        linked = await slack.command_in(team, "community link writers", user=ADMIN, channel=channel,
                                        channel_name="writers")
        assert "linked" in linked.params["text"], linked.params["text"]
    await slack.command_in(ACME, 'share writers https://example.org/guide "Style guide"', user=ADMIN)
    assert await slack.worker.run_once() == 2
    tokens = {c.params["channel"]: c.token for c in slack.fake.posted()}
    assert tokens == {"CACMEWRITERS": _token(slack, ACME), "CGLOBEXWRITERS": _token(slack, GLOBEX)}
    assert "Style guide" in block_text(slack.fake.posted("CGLOBEXWRITERS")[0].params["blocks"])
