"""Cercle installed through OAuth in several workspaces, against the fake Slack: the browser's side of
"Add to Slack" (GET /slack/install, then Slack's redirect to /slack/oauth_redirect), and signed requests
from a given workspace."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse

import aiohttp
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.slack.app import SlackAdapter
from adapters.slack.platform import SlackSettings
from bot.app import build, default_platforms, platform_adapters
from bot.clock import Clock
from bot.http import HttpServer
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from storage.tables import SlackInstallation
from tests.fakes.slack_api import TEAM_ID, Call, FakeSlack
from tests.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET
from tests.support.slack import ADMIN, APP_TOKEN, SIGNING_SECRET, USERS, Answer, SlackHarness

Browser = dict[str, str]  # a browser's cookies for the app's address
SECRET_KEY = "a-test-secret-key-of-more-than-32-characters"


@dataclass
class Page:
    status: int
    text: str
    headers: dict[str, str]


class OAuthHarness(SlackHarness):
    """`SlackHarness` plus a browser (with its cookies) and requests from any workspace."""

    browser: Browser

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http.bound_port}"

    async def get(self, path: str, *, browser: Browser | None = None) -> Page:
        """A browser's GET. It keeps the cookies it is given and sends them back, as one on the app's https
        address would (the state cookie is `Secure`: aiohttp's jar would not send it over plain http)."""
        jar = self.browser if browser is None else browser
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}
        async with self.session.get(self.base + path, allow_redirects=False, headers=headers) as response:
            for value in response.headers.getall("Set-Cookie", []):
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(value)
                for name, morsel in cookie.items():
                    assert morsel["secure"] and morsel["httponly"], value
                    jar[name] = morsel.value
            return Page(response.status, await response.text(), dict(response.headers))

    async def start_install(self, *, browser: Browser | None = None) -> str:
        """GET /slack/install: the state in the Slack authorize URL it redirects to."""
        page = await self.get("/slack/install", browser=browser)
        assert page.status == 302, page
        location = urlparse(page.headers["Location"])
        assert (location.netloc, location.path) == ("slack.com", "/oauth/v2/authorize")
        query = parse_qs(location.query)
        assert query["client_id"] == [CLIENT_ID]
        return query["state"][0]

    async def redirect(self, code: str, state: str, *, browser: Browser | None = None) -> Page:
        """Slack sends the browser back to /slack/oauth_redirect with the code and the state."""
        return await self.get(f"/slack/oauth_redirect?{urlencode({'code': code, 'state': state})}", browser=browser)

    async def install(self, team_id: str, name: str, **options: Any) -> Page:
        """The whole "Add to Slack" in `team_id`, through the real pages."""
        state = await self.start_install()
        page = await self.redirect(self.fake.oauth.authorize(team_id, name, **options), state)
        assert page.status == 200, page
        return page

    async def uninstalled(self, team: str) -> SlackInstallation:
        """The installation once an uninstall event was handled (Bolt runs event listeners after the ack;
        the row is marked last, after the workspace's deliveries ended)."""
        for _ in range(250):
            with Session(self.app.engine) as session:
                row = session.exec(select(SlackInstallation).where(SlackInstallation.team_id == team)).first()
            if row is not None and row.uninstalled_at is not None:
                return row
            await asyncio.sleep(0.02)
        raise AssertionError(f"{team} was not marked uninstalled")

    # -- requests from a workspace -------------------------------------------------------------------
    async def command_in(self, team: str, text: str, *, user: str, channel: str = "CGENERAL",
                         channel_name: str = "general", enterprise: str | None = None,
                         org_wide: bool = False) -> Call:
        body, trigger = self.command_body(text, user=user, channel=channel, channel_name=channel_name)
        fields = dict(parse_qsl(body.decode()))
        fields["team_id"] = team
        if enterprise:  # a workspace of an Enterprise Grid organisation
            fields.update(enterprise_id=enterprise, is_enterprise_install="true" if org_wide else "false")
        answer = await self.post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        assert answer.status == 200, answer
        await self.settle()
        return self.response(trigger)

    async def event_in(self, team: str, event: dict[str, Any], **extra: Any) -> Answer:
        body = json.loads(self.event_body(event))
        body.update(team_id=team, **extra)
        answer = await self.post(json.dumps(body).encode(), "application/json")
        await self.settle()
        return answer


def oauth_settings(base: Settings, fake: FakeSlack, teams: tuple[str, ...], *, socket_mode: bool = False) -> Settings:
    parse = default_platforms().parse_account
    admins = (*base.admins, *(parse(f"slack:{team}:{ADMIN}") for team in teams))
    section = SlackSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signing_secret=SIGNING_SECRET,
                            api_url=fake.api_url, app_token=APP_TOKEN if socket_mode else None)
    return replace(base, admins=admins, http_host="127.0.0.1", http_port=0,
                   secret_keys=(SECRET_KEY,)).with_section("slack", section)


@asynccontextmanager
async def running_slack_oauth(base: Settings, clock: Clock, engine: Engine, *,
                              teams: tuple[str, ...] = (TEAM_ID,),
                              socket_mode: bool = False) -> AsyncIterator[OAuthHarness]:
    """The app as `cercle run` composes it for a Slack app installed through OAuth."""
    fake = FakeSlack(users=USERS)
    await fake.start()
    settings = oauth_settings(base, fake, teams, socket_mode=socket_mode)
    app = build(settings, clock=clock, migrate=False, engine=engine)
    http = HttpServer(engine, settings.http_host, settings.http_port)
    (adapter,) = platform_adapters(app, http)
    assert isinstance(adapter, SlackAdapter) and adapter.oauth is not None
    worker = DeliveryWorker(engine, {"slack": adapter.sender}, clock=clock, notifier=app.outbox.notifier,
                            guard=app.assembly.delivery_guards(app.settings))
    await http.start()
    await adapter.start()
    session = aiohttp.ClientSession()
    harness = OAuthHarness(app, fake, http, adapter, worker, session)
    harness.browser = {}
    try:
        yield harness
    finally:
        await session.close()
        await adapter.stop()
        await http.stop()
        await fake.stop()
