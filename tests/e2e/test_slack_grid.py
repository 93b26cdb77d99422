"""Enterprise Grid: one person and one place across the organisation's workspaces (signed requests into the
real Bolt app, the fake Slack Web API answering users.info with `enterprise_user`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Account, Channel
from tests.fakes.slack_api import Call
from tests.support.slack import block_text, button
from tests.support.slack_grid import ADA, ALICE, BOB, ENTERPRISE, LYON, OLD, PARIS, SHARED, GridSlack, running_grid


@pytest.fixture
async def grid(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[GridSlack]:
    async with running_grid(settings, clock, engine) as harness:
        yield harness


def _text(call: Call) -> str:
    return block_text(call.params.get("blocks") or [])


def _persons_of(grid: GridSlack, user_id: str) -> set[int]:
    with session_scope(grid.slack.app.engine) as session:
        return {a.person_id for a in session.exec(select(Account).where(Account.user_id == user_id))}


async def _before_grid(grid: GridSlack, *steps: tuple[str, str, str]) -> None:
    """The workspaces before they joined the organisation, and (command, user, team) typed there then."""
    grid.before_grid()
    for text, user, team in steps:
        await grid.command(text, user=user, team=team, grid=False)


async def _community_in_shared_channel(grid: GridSlack) -> None:
    assert "created" in _text(await grid.command('community create ops "Ops"', user=ADA, team=PARIS)).lower()
    assert "linked" in _text(await grid.command("community link ops", user=ADA, team=PARIS)).lower()
    await grid.command("community join ops", user=ALICE, team=PARIS)


async def test_one_person_acknowledges_from_two_workspaces_and_is_counted_once(grid: GridSlack) -> None:
    await _community_in_shared_channel(grid)
    # The shared channel seen from the other workspace is the same place: already linked.
    again = _text(await grid.command("community link ops", user=ADA, team=LYON))
    assert "already linked to Ops" in again
    declared = _text(await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=LYON))
    assert "C1" in declared
    await grid.command('crisis announce C1 "Servers are down"', user=ADA, team=PARIS)
    while await grid.slack.worker.run_once():
        pass
    posts = grid.fake.posted()
    assert [p.params["channel"] for p in posts] == [SHARED]  # one broadcast, not one per workspace
    assert "Servers are down" in str(posts[0].params.get("text")) + _text(posts[0])

    first = _text(await grid.command("crisis ack C1", user=ALICE, team=PARIS))
    second = _text(await grid.command("crisis ack C1", user=ALICE, team=LYON))
    assert "your acknowledgement of C1 is recorded" in first
    assert "You had already acknowledged C1" in second
    status = _text(await grid.command("crisis status C1", user=ADA, team=LYON))
    assert "Acknowledged by 1 of 2" in status
    with session_scope(grid.slack.app.engine) as session:
        channels = session.exec(select(Channel).where(Channel.channel_id == SHARED)).all()
        assert [(c.workspace, c.channel_id) for c in channels] == [(ENTERPRISE, SHARED)]
    assert len(_persons_of(grid, ALICE)) == 1


async def test_profile_is_the_same_from_both_workspaces(grid: GridSlack) -> None:
    await grid.command("profile skills kafka, rust", user=BOB, team=LYON, channel="DBOB0001",
                       channel_name="directmessage")
    from_paris = _text(await grid.command("profile show", user=BOB, team=PARIS))
    from_lyon = _text(await grid.command("profile show", user=BOB, team=LYON))
    assert "kafka" in from_paris and "rust" in from_paris
    assert from_paris == from_lyon
    # Someone else sees the same profile whichever workspace they ask from.
    seen_from_paris = _text(await grid.command(f"profile show <@{BOB}>", user=ALICE, team=PARIS))
    seen_from_lyon = _text(await grid.command(f"profile show <@{BOB}>", user=ALICE, team=LYON))
    assert "kafka" in seen_from_paris and seen_from_paris == seen_from_lyon
    assert len(_persons_of(grid, BOB)) == 1


async def test_accounts_and_links_made_before_grid_keying_are_kept(grid: GridSlack) -> None:
    # Before: the workspace's keys, a skill, a community linked to the channel, an acknowledgement.
    await _before_grid(grid, ("profile skills golang", ALICE, PARIS), ('community create ops "Ops"', ADA, PARIS),
                       ("community link ops", ADA, PARIS), ("community join ops", ALICE, PARIS),
                       ('crisis declare "Outage" --audience ops', OLD, PARIS),
                       ('crisis announce C1 "Down"', OLD, PARIS), ("crisis ack C1", ALICE, PARIS))
    with session_scope(grid.slack.app.engine) as session:
        assert [c.workspace for c in session.exec(select(Channel).where(Channel.channel_id == SHARED))] == [PARIS]
    # Then the organisation, first seen from the other workspace: the same person, the same place.
    grid.in_grid()
    assert "golang" in _text(await grid.command("profile show", user=ALICE, team=LYON))
    assert "You had already acknowledged C1" in _text(await grid.command("crisis ack C1", user=ALICE, team=LYON))
    assert "already linked to Ops" in _text(await grid.command("community link ops", user=OLD, team=LYON))
    assert len(_persons_of(grid, ALICE)) == 1
    with session_scope(grid.slack.app.engine) as session:
        keys = {(a.workspace, a.user_id) for a in session.exec(select(Account).where(Account.user_id == ALICE))}
        assert keys == {(ENTERPRISE, ALICE), (PARIS, ALICE), (LYON, ALICE)}
        channels = session.exec(select(Channel).where(Channel.channel_id == SHARED)).all()
        assert [c.workspace for c in channels] == [ENTERPRISE]
    await grid.command('crisis announce C1 "Back up"', user=OLD, team=LYON)
    while await grid.slack.worker.run_once():
        pass
    assert [p.params["channel"] for p in grid.fake.posted()] == [SHARED, SHARED]  # one per announcement


async def test_two_persons_of_the_same_user_in_two_workspaces_become_one(grid: GridSlack) -> None:
    # Before the organisation, each workspace had its own account, hence its own person: two acknowledgements.
    await _before_grid(grid, ("profile skills kafka", BOB, PARIS), ("profile skills rust", BOB, LYON),
                       ('crisis declare "Outage"', OLD, PARIS), ('crisis announce C1 "Down"', OLD, PARIS),
                       ("crisis ack C1", BOB, PARIS), ("crisis ack C1", BOB, LYON))
    assert len(_persons_of(grid, BOB)) == 2
    assert "Acknowledged by 2 of 3" in _text(await grid.command("crisis status C1", user=OLD, team=PARIS,
                                                                grid=False))
    # Seen through the organisation: one person, one acknowledgement, both skills.
    grid.in_grid()
    shown = _text(await grid.command("profile show", user=BOB, team=PARIS))
    assert "kafka" in shown and "rust" in shown
    assert len(_persons_of(grid, BOB)) == 1
    status = _text(await grid.command("crisis status C1", user=OLD, team=PARIS))
    assert "Acknowledged by 1 of 2" in status


async def test_admins_written_for_the_organisation_or_the_workspace(grid: GridSlack) -> None:
    # `slack:E…:W…` names the person in every workspace of the organisation.
    granted = _text(await grid.command(f"role grant <@{BOB}> communicator", user=ADA, team=LYON))
    assert "now has the communicator role" in granted
    # A pre-Grid entry `slack:T…:U…` still names its person once requests carry the organisation.
    granted = _text(await grid.command(f"role grant <@{ALICE}> hr", user=OLD, team=PARIS))
    assert "now has the hr role" in granted
    # Anyone else is refused, and nothing changes.
    refused = await grid.command(f"role grant <@{ALICE}> admin", user=BOB, team=LYON)
    assert "now has" not in _text(refused)
    roles = _text(await grid.command("role list", user=ADA, team=PARIS))
    assert "communicator" in roles and "Alice" in roles
    assert "admin" not in roles.split("Alice")[1].split("\n")[0]
    # The person granted a role from one workspace holds it in the other.
    declared = _text(await grid.command('crisis declare "Drill"', user=BOB, team=PARIS))
    assert "C1" in declared


async def test_someone_known_before_the_organisation_is_found_when_mentioned(grid: GridSlack) -> None:
    await _before_grid(grid, ("profile skills kafka", BOB, PARIS))
    grid.in_grid()
    # Bob has not used Cercle since his workspace joined the organisation; Alice mentions him from the other one.
    shown = _text(await grid.command(f"profile show <@{BOB}>", user=ALICE, team=LYON))
    assert "kafka" in shown
    assert len(_persons_of(grid, BOB)) == 1


async def test_a_button_clicked_in_one_workspace_counts_for_the_person_everywhere(grid: GridSlack) -> None:
    await _community_in_shared_channel(grid)
    await grid.command('crisis declare "Outage" --audience ops', user=ADA, team=PARIS)
    await grid.command('crisis announce C1 "Servers are down"', user=ADA, team=PARIS)
    while await grid.slack.worker.run_once():
        pass
    (post,) = grid.fake.posted(SHARED)
    ack = button(post.params["blocks"], "Acknowledge")
    # A click as Slack sends it from a workspace of the organisation (team.enterprise_id, enterprise.id).
    payload, _key = grid.slack.action_payload(ack, user=ALICE, channel=SHARED, channel_name="shared")
    payload["team"] = {"id": LYON, "domain": "lyon", "enterprise_id": ENTERPRISE}
    payload["enterprise"] = {"id": ENTERPRISE, "name": "Grid"}
    payload["user"] = {"id": ALICE, "username": "alice", "team_id": LYON}
    payload["is_enterprise_install"] = True
    answer = await grid.slack.post_payload(payload)
    assert answer.status == 200
    await grid.slack.settle()
    again = _text(await grid.command("crisis ack C1", user=ALICE, team=PARIS))
    assert "You had already acknowledged C1" in again
    assert "Acknowledged by 1 of 2" in _text(await grid.command("crisis status C1", user=ADA, team=PARIS))
