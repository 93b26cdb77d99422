"""Cercle installed in several Slack workspaces through OAuth ("Add to Slack"), end to end: the real
install pages and Bolt's OAuth flow against the fake Slack's `oauth.v2.access`, requests and outbox
deliveries in each workspace with that workspace's token, refused forged and replayed states,
sealed tokens, token rotation, and uninstalls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.slack.oauth.flow import OAuthInstall
from bot.clock import FrozenClock
from bot.outbox import DeliveryError
from bot.settings import Settings
from storage.tables import OutboxMessage, SlackInstallation, SlackOAuthState
from tests.support.slack import ADMIN, block_text, new_id
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
    # Another key opens nothing: health says so, and deliveries wait (retried) rather than fail for good.
    core = replace(slack.app.core, settings=replace(slack.app.settings, secret_keys=("another-key-" * 4,)))
    elsewhere = OAuthInstall.build(core, slack.adapter.settings)
    assert await elsewhere.health() == (False, "oauth: workspace tokens do not open with CERCLE_SECRET_KEY")
    with pytest.raises(DeliveryError) as refused:
        await elsewhere.sender.tokens.bot_token(ACME)
    assert not refused.value.permanent and "CERCLE_SECRET_KEY" in refused.value.reason


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


# -- the state: single use, expiring, issued by Cercle --------------------------------------------------
def _states(engine: Engine) -> int:
    with Session(engine) as session:
        return len(list(session.exec(select(SlackOAuthState))))


async def test_a_forged_state_is_refused_and_stores_nothing(slack: OAuthHarness) -> None:
    code = slack.fake.oauth.authorize(ACME, "Acme")
    forged = {"slack-app-oauth-state": "forged-state"}  # an attacker's page sets both cookie and state
    page = await slack.redirect(code, "forged-state", browser=forged)
    assert page.status == 401 and "This install link is not valid" in page.text
    assert "Start again from /slack/install" in page.text
    no_cookie = await slack.redirect(code, await slack.start_install(), browser={})  # a state from another browser
    assert no_cookie.status == 400 and "not started in this browser" in no_cookie.text
    assert slack.fake.calls_to("oauth.v2.access") == [] and _installations(slack.app.engine) == []


async def test_a_replayed_state_is_refused_and_stores_nothing(slack: OAuthHarness) -> None:
    state = await slack.start_install()
    assert (await slack.redirect(slack.fake.oauth.authorize(ACME, "Acme"), state)).status == 200
    assert _states(slack.app.engine) == 0  # consumed
    replay = await slack.redirect(slack.fake.oauth.authorize(GLOBEX, "Globex"), state)
    assert replay.status == 401 and "already used" in replay.text
    assert len(slack.fake.calls_to("oauth.v2.access")) == 1
    assert [r.team_id for r in _installations(slack.app.engine)] == [ACME]


async def test_an_expired_state_or_a_cancelled_install_is_refused(slack: OAuthHarness, clock: FrozenClock) -> None:
    state = await slack.start_install()
    clock.advance(timedelta(minutes=11))
    expired = await slack.redirect(slack.fake.oauth.authorize(ACME, "Acme"), state)
    assert expired.status == 401 and "expired" in expired.text
    cancelled = await slack.get(f"/slack/oauth_redirect?error=access_denied&state={await slack.start_install()}")
    assert "The install was cancelled in Slack" in cancelled.text
    assert slack.fake.calls_to("oauth.v2.access") == [] and _installations(slack.app.engine) == []


# -- uninstall --------------------------------------------------------------------------------------------
def _outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


async def _linked_in_both(slack: OAuthHarness) -> None:
    await slack.command_in(ACME, 'community create writers "Writers"', user=ADMIN)
    for team, channel in ((ACME, "CACMEWRITERS"), (GLOBEX, "CGLOBEXWRITERS")):
        await slack.command_in(team, "community link writers", user=ADMIN, channel=channel, channel_name="writers")
    joined = await slack.command_in(GLOBEX, "community join writers", user=ADMIN)  # Globex's admin shares too
    assert "Writers" in joined.params["text"], joined.params["text"]


async def test_an_uninstall_ends_that_workspaces_deliveries_and_a_reinstall_works(slack: OAuthHarness) -> None:
    await _install_both(slack)
    await _linked_in_both(slack)
    await slack.command_in(GLOBEX, 'share writers https://example.org/a "First"', user=ADMIN)
    slack.fake.oauth.revoke(ACME)  # Slack's side: Acme removed the app
    answer = await slack.event_in(ACME, {"type": "app_uninstalled"})
    assert answer.status == 200
    row = await slack.uninstalled(ACME)
    assert row.uninstall_reason == "app_uninstalled"
    (acme,) = [r for r in _outbox(slack.app.engine) if r.workspace == ACME]
    assert (acme.status, acme.last_error) == ("failed", "slack: workspace uninstalled")
    assert await slack.worker.run_once() == 1  # Globex still delivers
    assert [c.params["channel"] for c in slack.fake.posted()] == ["CGLOBEXWRITERS"]
    # Rows written later for Acme end at their first attempt instead of being retried.
    await slack.command_in(GLOBEX, 'share writers https://example.org/b "Second"', user=ADMIN)
    await slack.worker.run_once()
    later = [r for r in _outbox(slack.app.engine) if r.workspace == ACME][1]
    assert (later.status, later.attempts, later.last_error) == ("failed", 1, "slack: workspace uninstalled")
    assert slack.fake.posted("CACMEWRITERS") == []
    # A command from Acme is refused with a clear answer; nothing runs.
    refused = await slack.command_in(ACME, "profile show", user=ALICE)
    assert "Cercle is not installed in this workspace" in refused.params["text"]
    # Installing again brings Acme back.
    await slack.install(ACME, "Acme")
    await slack.command_in(GLOBEX, 'share writers https://example.org/c "Third"', user=ADMIN)
    assert await slack.worker.run_once() == 2
    old, new = slack.fake.oauth.bot_tokens(ACME)
    assert [c.token for c in slack.fake.posted("CACMEWRITERS")] == [new]
    assert slack.fake.oauth.refusal(old) == "token_revoked"
    assert _installations(slack.app.engine)[0].uninstalled_at is None


async def test_revoked_bot_tokens_count_as_an_uninstall(slack: OAuthHarness) -> None:
    await _install_both(slack)
    # A person revoking their own (user) token leaves the workspace installed.
    await slack.event_in(ACME, {"type": "tokens_revoked", "tokens": {"oauth": ["UINSTALLER"]}})
    await slack.command_in(ACME, "profile show", user=ALICE)  # answered: the bot's token still works
    assert [c.token for c in slack.fake.calls_to("users.info")] == [_token(slack, ACME)]
    await slack.event_in(GLOBEX, {"type": "tokens_revoked", "tokens": {"bot": [f"UBOT{GLOBEX}"]}})
    await slack.uninstalled(GLOBEX)
    rows = {r.team_id: r for r in _installations(slack.app.engine)}
    assert rows[GLOBEX].uninstall_reason == "tokens_revoked" and rows[ACME].uninstalled_at is None
    ok, detail = await slack.adapter.health()
    assert ok and detail == "oauth: 1 workspace(s) installed"


# -- token rotation ---------------------------------------------------------------------------------------
async def test_a_rotated_token_is_refreshed_before_it_expires(slack: OAuthHarness) -> None:
    await slack.install(ACME, "Acme", rotation=True, expires_in=300)  # expires in 5 minutes: refresh first
    (first,) = slack.fake.oauth.bot_tokens(ACME)
    await slack.command_in(ACME, 'community create writers "Writers"', user=ADMIN)
    refreshes = [c for c in slack.fake.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1  # Bolt's authorize refreshed it before the command ran
    second = slack.fake.oauth.bot_tokens(ACME)[-1]
    assert second != first
    slack.fake.oauth.expire(first)  # the old token no longer works at Slack
    slack.fake.oauth.expire(second, in_seconds=120)  # and the new one is near its end too
    await slack.command_in(ACME, "community link writers", user=ADMIN, channel="CACMEWRITERS", channel_name="w")
    await slack.command_in(ACME, 'share writers https://example.org/a "First"', user=ADMIN)
    assert await slack.worker.run_once() == 1
    (posted,) = slack.fake.posted("CACMEWRITERS")
    newest = slack.fake.oauth.bot_tokens(ACME)[-1]
    assert posted.token == newest and newest not in (first, second)
    (row,) = _installations(slack.app.engine)
    assert slack.adapter.oauth is not None and slack.adapter.oauth.store.box.open(row.bot_token) == newest
    assert row.bot_token_expires_at is not None


async def test_replicas_refreshing_together_get_working_tokens(slack: OAuthHarness) -> None:
    """Two replicas (two adapters on one database) need the same expiring token at once: each process
    refreshes it once at most, every token handed out works, and the stored one is one of them."""
    await slack.install(ACME, "Acme", rotation=True, expires_in=300)
    slack.fake.oauth.workspaces[ACME].expires_in = 43200  # refreshed tokens live 12 hours
    assert slack.adapter.oauth is not None
    other = OAuthInstall.build(slack.app.core, slack.adapter.settings)
    mine, theirs = slack.adapter.oauth.sender.tokens, other.sender.tokens
    handed = await asyncio.gather(*(t.bot_token(ACME) for t in (mine, theirs, mine, theirs, mine, theirs)))
    refreshes = [c for c in slack.fake.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert 1 <= len(refreshes) <= 2
    assert all(token is not None and slack.fake.oauth.refusal(token) is None for token in handed)
    (row,) = _installations(slack.app.engine)
    assert slack.adapter.oauth.store.box.open(row.bot_token) in handed
    assert await mine.bot_token(ACME) == await theirs.bot_token(ACME)  # settled: no further refresh
    assert len([c for c in slack.fake.calls_to("oauth.v2.access")
                if c.params.get("grant_type") == "refresh_token"]) == len(refreshes)


async def test_an_org_wide_install_serves_the_workspaces_of_its_organisation(slack: OAuthHarness) -> None:
    """Enterprise Grid: one install for the organisation; its workspaces' requests and deliveries use it."""
    grid, sales = "EGRID", "TSALES"
    await slack.install(grid, "Grid", enterprise_id=grid, org_wide=True)
    (row,) = _installations(slack.app.engine)
    assert (row.enterprise_id, row.team_id, row.is_enterprise_install) == (grid, "", True)
    org_token = _token(slack, grid)
    for typed in ('community create writers "Writers"', "community link writers"):
        await slack.command_in(sales, typed, user=ADMIN, channel="CSALESW", channel_name="writers", enterprise=grid,
                               org_wide=True)
    await slack.command_in(sales, 'share writers https://example.org/a "A guide"', user=ADMIN, enterprise=grid,
                           org_wide=True)
    assert {c.token for c in slack.fake.calls_to("users.info")} == {org_token}
    assert await slack.worker.run_once() == 1
    (posted,) = slack.fake.posted("CSALESW")
    assert posted.token == org_token
    # The organisation uninstalls: its pending rows end.
    await slack.command_in(sales, 'share writers https://example.org/b "B"', user=ADMIN, enterprise=grid,
                           org_wide=True)
    await slack.event_in(sales, {"type": "app_uninstalled"}, enterprise_id=grid, is_enterprise_install=True)
    for _ in range(250):
        if _installations(slack.app.engine)[0].uninstalled_at is not None:
            break
        await asyncio.sleep(0.02)
    (row,) = _installations(slack.app.engine)
    assert row.uninstall_reason == "app_uninstalled"
    ended = [r for r in _outbox(slack.app.engine) if r.status != "sent"]
    assert [(r.status, r.last_error) for r in ended] == [("failed", "slack: workspace uninstalled")]


async def test_socket_mode_answers_each_workspace_with_its_token(settings: Settings, clock: FrozenClock,
                                                                 engine: Engine) -> None:
    """Socket Mode with OAuth: the install pages are still served over HTTP; envelopes are authorized per
    workspace like HTTP requests."""
    async with running_slack_oauth(settings, clock, engine, teams=(ACME, GLOBEX), socket_mode=True) as slack:
        await _install_both(slack)
        for team, user in ((ACME, ALICE), (GLOBEX, GARY)):
            trigger = new_id("trig.")
            await slack.fake.socket_send("slash_commands", {
                "team_id": team, "channel_id": "CGENERAL", "channel_name": "general", "user_id": user,
                "user_name": user.lower(), "command": "/cercle", "text": "profile show", "api_app_id": "ACERCLE",
                "response_url": slack.fake.response_url(trigger), "trigger_id": trigger})
            await slack.settle()
            assert slack.response(trigger).params["response_type"] == "ephemeral"
        lookups = {c.params["user"]: c.token for c in slack.fake.calls_to("users.info")}
        assert lookups == {ALICE: _token(slack, ACME), GARY: _token(slack, GLOBEX)}
        ok, detail = await slack.adapter.health()
        assert ok and detail == "oauth: 2 workspace(s) installed"


async def test_a_grid_workspaces_install_delivers_and_its_uninstall_ends_the_organisations_rows(
        slack: OAuthHarness) -> None:
    """A workspace-level install inside a Grid: rows are keyed by the organisation (one person, one channel
    across it); they use that install's token, and end when the organisation's last installation goes."""
    grid, sales = "EGRID", "TSALES"
    await slack.install(sales, "Sales", enterprise_id=grid)
    for typed in ('community create writers "Writers"', "community link writers"):
        await slack.command_in(sales, typed, user=ADMIN, channel="CSALESW", channel_name="writers", enterprise=grid)
    await slack.command_in(sales, 'share writers https://example.org/a "A guide"', user=ADMIN, enterprise=grid)
    assert await slack.worker.run_once() == 1
    assert [c.token for c in slack.fake.posted("CSALESW")] == [_token(slack, sales)]
    await slack.command_in(sales, 'share writers https://example.org/b "B"', user=ADMIN, enterprise=grid)
    await slack.event_in(sales, {"type": "app_uninstalled"}, enterprise_id=grid)
    await slack.uninstalled(sales)
    ended = [r for r in _outbox(slack.app.engine) if r.status != "sent"]
    assert [(r.workspace, r.status, r.last_error) for r in ended] == [(grid, "failed", "slack: workspace uninstalled")]
