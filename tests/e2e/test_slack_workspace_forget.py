"""`cercle workspace forget`: an uninstalled workspace's data exported, then deleted; people who also use
Cercle elsewhere keep the rest; refused while the workspace is still installed."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from bot.cli import main
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.tables import (
    Account,
    AuditEntry,
    Channel,
    Membership,
    OutboxMessage,
    Person,
    PersonSkill,
    ProcessedEvent,
    SlackInstallation,
)
from tests.support.slack import ADMIN, block_text
from tests.support.slack_oauth import OAuthHarness, running_slack_oauth

ACME, GLOBEX = "TACME", "TGLOBEX"
ALICE, LINA = "UALICE", "ULINA"  # Alice only in Acme; Lina in Acme and in Globex (linked accounts)


@pytest.fixture
async def slack(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[OAuthHarness]:
    async with running_slack_oauth(settings, clock, engine, teams=(ACME, GLOBEX)) as harness:
        yield harness


def _forget(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, ["workspace", "forget", *args],
                              env={"CERCLE_DATABASE_URL": settings.database_url})


async def _acme_life(slack: OAuthHarness) -> None:
    """Two workspaces in use: a community linked in Acme, Alice's skills, Lina linked across both."""
    await slack.install(ACME, "Acme")
    await slack.install(GLOBEX, "Globex")
    await slack.command_in(GLOBEX, 'community create writers "Writers"', user=ADMIN)
    await slack.command_in(ACME, "community join writers", user=ADMIN)
    await slack.command_in(ACME, "community link writers", user=ADMIN, channel="CACMEW", channel_name="writers")
    await slack.command_in(ACME, "profile skills kafka, python", user=ALICE)
    await slack.command_in(ACME, "community join writers", user=ALICE)
    code = re.search(r"link code is (\w+)", (await slack.command_in(ACME, "profile link", user=LINA)).params["text"])
    assert code is not None
    await slack.command_in(GLOBEX, f"profile link {code.group(1)}", user=LINA)
    await slack.command_in(GLOBEX, "profile link confirm", user=LINA)  # both accounts confirm (issue #12)
    linked = await slack.command_in(ACME, "profile link confirm", user=LINA)
    assert "your accounts are now one person" in linked.params["text"], linked.params["text"]
    await slack.command_in(ACME, "profile skills sql", user=LINA)
    await slack.command_in(GLOBEX, 'share writers https://example.org/a "A guide"', user=ADMIN)  # to CACMEW


def _count(engine: Engine, table: type[SQLModel], *where: Any) -> int:
    with Session(engine) as session:
        return len(list(session.exec(select(table).where(*where))))


async def test_forget_refuses_an_installed_workspace(slack: OAuthHarness, settings: Settings) -> None:
    await _acme_life(slack)
    refused = _forget(settings, ACME)
    assert refused.exit_code == 1 and "still installed" in refused.output
    assert _count(slack.app.engine, Account, col(Account.workspace) == ACME) == 3  # nothing changed
    wrong = _forget(settings, "not-a-team")
    assert wrong.exit_code == 2 and "is not a Slack workspace id" in wrong.output
    unknown = _forget(settings, "TNOBODY")
    assert unknown.exit_code == 1 and "nothing is known of workspace TNOBODY" in unknown.output


async def test_forget_exports_then_deletes_an_uninstalled_workspace(slack: OAuthHarness, settings: Settings,
                                                                    tmp_path: Path) -> None:
    await _acme_life(slack)
    engine = slack.app.engine
    await slack.event_in(ACME, {"type": "app_uninstalled"})
    await slack.uninstalled(ACME)
    with Session(engine) as session:
        alice = session.exec(select(Account).where(Account.workspace == ACME, Account.user_id == ALICE)).one()
        lina = session.exec(select(Account).where(Account.workspace == ACME, Account.user_id == LINA)).one()
    export = tmp_path / "acme.json"
    done = _forget(settings, ACME, "--export", str(export))
    assert done.exit_code == 0, done.output
    assert "3 account(s), 2 person(s) deleted, 1 kept" in done.output
    held = json.loads(export.read_text(encoding="utf-8"))
    assert sorted(a["user_id"] for a in held["accounts"]) == [ADMIN, ALICE, LINA]
    # Ended by the uninstall: the share to CACMEW, and the link confirmation asked of Lina in Acme.
    assert held["channels"][0]["channel_id"] == "CACMEW" and held["outbox"] == {"failed": 2}
    assert held["installations"][0]["uninstall_reason"] == "app_uninstalled"
    assert "xox" not in export.read_text(encoding="utf-8")  # no token, sealed or not
    # Acme is gone: accounts, Alice with her skills and membership, channels, outbox rows, events, installation.
    assert _count(engine, Account, col(Account.workspace) == ACME) == 0
    assert _count(engine, Person, col(Person.id) == alice.person_id) == 0
    assert _count(engine, PersonSkill, col(PersonSkill.person_id) == alice.person_id) == 0
    assert _count(engine, Membership, col(Membership.person_id) == alice.person_id) == 0
    assert _count(engine, Channel, col(Channel.workspace) == ACME) == 0
    assert _count(engine, OutboxMessage, col(OutboxMessage.workspace) == ACME) == 0
    assert _count(engine, ProcessedEvent, col(ProcessedEvent.key).startswith(f"slack:{ACME}:")) == 0
    assert _count(engine, SlackInstallation, col(SlackInstallation.team_id) == ACME) == 0
    # Lina keeps her Globex account and her skills; audit rows stay, without Alice.
    assert _count(engine, Person, col(Person.id) == lina.person_id) == 1
    assert _count(engine, PersonSkill, col(PersonSkill.person_id) == lina.person_id) == 1
    assert _count(engine, AuditEntry, col(AuditEntry.actor_person_id) == alice.person_id) == 0
    assert _count(engine, AuditEntry, col(AuditEntry.action) == "workspace.forget") == 1
    # Globex goes on working.
    answer = await slack.command_in(GLOBEX, "profile show", user=LINA)
    assert "sql" in block_text(answer.params["blocks"])
    assert _count(engine, SlackInstallation, col(SlackInstallation.team_id) == GLOBEX) == 1


async def test_forget_refuses_a_workspace_its_grid_organisation_still_serves(slack: OAuthHarness,
                                                                              settings: Settings) -> None:
    await slack.install("EGRID", "Grid", enterprise_id="EGRID", org_wide=True)
    await slack.command_in("TSALES", "profile skills sql", user=ALICE, enterprise="EGRID", org_wide=True)
    refused = _forget(settings, "TSALES")
    assert refused.exit_code == 1 and "still installed" in refused.output
    # In a Grid a person is one across the organisation (their account is the organisation's): forgetting one
    # workspace keeps them; forgetting the organisation (refused too while installed) deletes them.
    forced = _forget(settings, "TSALES", "--force")
    assert forced.exit_code == 0 and "0 person(s) deleted, 1 kept" in forced.output, forced.output
    assert _count(slack.app.engine, Account, col(Account.workspace) == "TSALES") == 0
    assert _forget(settings, "EGRID").exit_code == 1
    organisation = _forget(settings, "EGRID", "--force")
    assert organisation.exit_code == 0 and "1 account(s), 1 person(s) deleted" in organisation.output
    assert "1 installation(s)" in organisation.output
    assert _count(slack.app.engine, Account, col(Account.workspace) == "EGRID") == 0
