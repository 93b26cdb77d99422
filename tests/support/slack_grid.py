"""Talk to the real Slack adapter as an Enterprise Grid organisation does: the same people in two
workspaces (`PARIS`, `LYON`) of one organisation (`ENTERPRISE`), signed requests carrying `enterprise_id`,
and `function_executed` events of Workflow Builder steps."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine

from bot.app import default_platforms
from bot.clock import Clock
from bot.settings import Settings
from tests.fakes.slack_api import Call, FakeSlack
from tests.support.slack import SlackHarness, new_id, running_slack

ENTERPRISE, PARIS, LYON = "EGRID01", "TPARIS01", "TLYON001"
ADA, ALICE, BOB, OLD = "WADA0001", "WALICE01", "WBOB0001", "UOLD0001"
SHARED = "CSHARED1"  # a channel shared between the two workspaces: one id in the organisation
GRID_USERS = {ADA: ("Ada Admin", "en-US"), ALICE: ("Alice", "en-US"), BOB: ("Bérénice", "fr-FR"),
              OLD: ("Olga", "en-US")}
MEMBERSHIPS = {ADA: (PARIS, LYON), ALICE: (PARIS, LYON), BOB: (PARIS, LYON), OLD: (PARIS,)}


def grid_settings(base: Settings) -> Settings:
    """Ada is an organisation-level admin (`slack:E…:W…`); Olga is listed the pre-Grid way (`slack:T…:U…`)."""
    platforms = default_platforms()
    admins = (platforms.parse_account(f"slack:{ENTERPRISE}:{ADA}"), platforms.parse_account(f"slack:{PARIS}:{OLD}"))
    return replace(base, admins=(*base.admins, *admins))


@asynccontextmanager
async def running_grid(base: Settings, clock: Clock, engine: Engine) -> AsyncIterator[GridSlack]:
    fake = FakeSlack(users=GRID_USERS, enterprise_users={u: (ENTERPRISE, t) for u, t in MEMBERSHIPS.items()})
    async with running_slack(grid_settings(base), clock, engine, fake=fake) as slack:
        yield GridSlack(slack)


class GridSlack:
    """A `SlackHarness` whose requests come from a workspace of the organisation (or from no organisation)."""

    def __init__(self, slack: SlackHarness) -> None:
        self.slack = slack
        self.fake = slack.fake
        self._members = dict(self.fake.enterprise_users)

    def before_grid(self) -> None:
        """The workspaces are not in the organisation yet: users.info has no `enterprise_user` (and requests
        are sent with `grid=False`)."""
        self.fake.enterprise_users.clear()

    def in_grid(self) -> None:
        """The workspaces joined the organisation (the bot's users.info cache still holds the old answers)."""
        self.fake.enterprise_users.update(self._members)

    async def command(self, text: str, *, user: str, team: str, channel: str = SHARED,
                      channel_name: str = "shared", grid: bool = True) -> Call:
        """`/cercle <text>` typed in `team`; `grid=False`: as Slack sent it before the organisation (no enterprise)."""
        trigger = new_id("trig.")
        name = GRID_USERS.get(user, (user, ""))[0].lower()
        fields = {"token": "legacy", "team_id": team, "team_domain": team.lower(), "channel_id": channel,
                  "channel_name": channel_name, "user_id": user, "user_name": name,
                  "command": "/cercle", "text": text, "api_app_id": "ACERCLE",
                  "response_url": self.fake.response_url(trigger), "trigger_id": trigger}
        if grid:
            fields.update({"enterprise_id": ENTERPRISE, "enterprise_name": "Grid", "is_enterprise_install": "true"})
        answer = await self.slack.post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        assert answer.status == 200, answer
        await self.slack.settle()
        return self.slack.response(trigger)

    def function_body(self, callback_id: str, inputs: dict[str, Any], *, team: str = PARIS,
                      execution_id: str | None = None, event_id: str | None = None) -> tuple[bytes, str]:
        """A `function_executed` event as Slack sends it when a workflow reaches one of Cercle's steps."""
        execution = execution_id or new_id("Fx")
        body = {"token": "legacy", "team_id": team, "enterprise_id": ENTERPRISE, "api_app_id": "ACERCLE",
                "type": "event_callback", "event_id": event_id or new_id("Ev"), "event_time": int(time.time()),
                "authorizations": [{"enterprise_id": ENTERPRISE, "team_id": None, "user_id": "UBOTCERCLE",
                                    "is_bot": True, "is_enterprise_install": True}],
                "is_enterprise_install": True,
                "event": {"type": "function_executed", "event_ts": f"{time.time():.6f}",
                          "function": {"id": "Fn0001", "callback_id": callback_id, "title": callback_id,
                                       "type": "app", "app_id": "ACERCLE"},
                          "inputs": inputs, "function_execution_id": execution,
                          "workflow_execution_id": new_id("Wx"), "bot_access_token": "xwfp-step-token"}}
        return json.dumps(body).encode(), execution

    async def run_step(self, callback_id: str, inputs: dict[str, Any], **kwargs: Any) -> str:
        """Send the event (signed), wait until Cercle has finished; returns the execution id."""
        body, execution = self.function_body(callback_id, inputs, **kwargs)
        answer = await self.slack.post(body, "application/json")
        assert answer.status == 200, answer
        await self.slack.settle()
        return execution

    def completions(self, execution: str) -> list[Call]:
        return [c for c in self.fake.calls if c.method.startswith("functions.complete")
                and c.params.get("function_execution_id") == execution]

