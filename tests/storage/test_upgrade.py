"""Upgrading a database the previous release filled, as an operator would, on SQLite and on PostgreSQL.

The previous release (CHANGELOG.md, tests/support/releases.py) runs in its own venv and fills a database
through its own router: every capability, Slack, Matrix and console accounts, a crisis in progress, an
open consultation, nominations in every state, delivered and queued outbox rows. Then this tree's
`cercle db upgrade` migrates it, and:

- every row the old release wrote is still there, unchanged (new columns may be added, nothing else);
- the scenario carries on with this tree's code: the crisis is acknowledged, the consultation closed,
  nominations move on, and the queued rows are each sent once, none of the rows sent before again;
- a rolling update works: the previous release's smoke commands run against the upgraded schema (an old
  replica still serving while the new one has migrated), and what each side wrote reads on the other.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, inspect, select
from sqlalchemy.engine import Engine

from bot.app import Application, build, default_platforms
from bot.clock import FrozenClock
from bot.events import Actor, Place, Request, UserInfo
from bot.outbox.contract import Outgoing
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import alembic_config, current_heads
from tests.support.databases import PostgresDatabase, in_ci
from tests.support.releases import ROOT, Release, ReleaseUnavailable, previous_release, release_python, run_old

Rows = dict[str, dict[tuple[Any, ...], dict[str, Any]]]

# A migration may rewrite a column on purpose (say, encrypt a token in place): name it here with the reason,
# and the test compares the rest of the row. Empty: no migration since the previous release rewrites data.
REWRITTEN: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="session")
def previous() -> Release:
    try:
        release = previous_release()
        release_python(release)
    except ReleaseUnavailable as exc:
        if in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    return release


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all, for the old release to create and fill."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'cercle.db'}"
        return
    request.getfixturevalue("_postgres")  # reachable, or the PostgreSQL half fails in CI / is skipped
    database = PostgresDatabase()
    try:
        yield database.url
    finally:
        database.drop()


def cercle(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """This tree's `cercle` command, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "SLACK_", "MATRIX_"))}
    env["CERCLE_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def upgrade(url: str) -> None:
    done = cercle("db", "upgrade", url=url)
    assert done.returncode == 0, done.stderr


def all_rows(engine: Engine) -> Rows:
    """Every row of every table, by primary key, as the database holds it."""
    meta = MetaData()
    meta.reflect(engine)
    out: Rows = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
            out[table.name] = {tuple(row[k] for k in key): dict(row)
                               for row in conn.execute(select(table)).mappings()}
    return out


class Side:
    """This tree's code on the upgraded database: people speak through the new router, as the old ones did."""

    def __init__(self, url: str, people: dict[str, list[str]]) -> None:
        settings = Settings(database_url=url, admins=tuple(default_platforms().parse_account(a) for a in (
            "slack:T0CERCLE:U0ADMIN", "matrix:@admin:example.org", "console:root")))
        self.engine = make_engine(url)
        self.app: Application = build(settings, clock=FrozenClock(datetime.now(UTC)), migrate=False,
                                      engine=self.engine)
        self.people = people
        self.count = 0

    def say(self, name: str, text: str, *, direct: bool = False) -> str:
        platform, uid = self.people[name]
        workspace = {"slack": "T0CERCLE", "matrix": "example.org", "console": "local"}[platform]
        channel = {"slack": "C0OPS", "matrix": "!ops:example.org", "console": "ops"}[platform]
        if direct:
            channel = {"slack": f"D{uid}", "matrix": f"!dm-{uid[1:].split(':')[0]}:example.org",
                       "console": f"dm-{uid}"}[platform]
        self.count += 1
        reply = self.app.router.handle(Request(
            actor=Actor(platform, workspace, uid, name.capitalize()),
            place=Place(platform, workspace, channel, name=f"#{channel}", direct=direct), text=text,
            event_key=f"new-{self.count}", users={uid: UserInfo(name.capitalize())}))
        assert reply is not None and not reply.is_error, f"{name}: {text!r} -> {reply and reply.message.plain_text()}"
        return reply.message.plain_text()

    def deliver(self) -> list[int]:
        """Run a delivery worker until nothing is due; the outbox ids it handed to the platforms."""
        sent: list[int] = []

        class Recorder:
            def __init__(self, platform: str) -> None:
                self.platform = platform

            async def send(self, item: Outgoing) -> str:
                sent.append(item.id)
                return f"{self.platform}-new-{item.id}"

        worker = DeliveryWorker(self.engine, {p: Recorder(p) for p in ("slack", "matrix", "console")},
                                clock=self.app.clock)

        async def drain() -> None:
            while await worker.run_once():
                pass

        asyncio.run(drain())
        return sent

    def close(self) -> None:
        self.engine.dispose()


def outbox(rows: Rows, status: str) -> set[int]:
    return {r["id"] for r in rows["outboxmessage"].values() if r["status"] == status}


def test_upgrade_keeps_every_row_and_the_scenario_carries_on(previous: Release, empty_url: str) -> None:
    scenario = run_old(previous, "fill", empty_url)
    assert ".cache/releases/" in scenario["version"]  # the old release's code filled it, not this tree's
    engine = make_engine(empty_url)
    try:
        before = all_rows(engine)
        old_schema = {t: {c["name"]: c for c in inspect(engine).get_columns(t)} for t in before}
        accounts = Counter(r["platform"] for r in before["account"].values())
        assert {"slack", "matrix", "console"} <= set(accounts), accounts
        states = {r["state"] for r in before["nomination"].values()}
        assert len(states) == 10, states  # every state a nomination rests in
        assert outbox(before, "pending") and outbox(before, "sent")
        empty = sorted(t for t, rows in before.items() if not rows and t != "crisisreminder")
        assert empty == [], f"the scenario leaves these tables empty: {empty}"

        upgrade(empty_url)

        after = all_rows(engine)
        assert current_heads(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        for table, rows in before.items():
            if table == "alembic_version":
                continue
            assert table in after, f"table {table} is gone"
            columns = inspect(engine).get_columns(table)
            assert set(old_schema[table]) <= {c["name"] for c in columns}, f"{table} lost columns"
            for column in columns:
                if column["name"] not in old_schema[table]:  # added: old code inserts without it
                    assert column["nullable"] or column.get("default") is not None, \
                        f"{table}.{column['name']} is NOT NULL without a server default: the previous " \
                        "release cannot insert rows during a rolling update (HACKING.md, Migrations)"
            assert set(after[table]) == set(rows), f"{table}: rows added or lost by the upgrade"
            for key, row in rows.items():
                kept = {k: v for k, v in after[table][key].items() if k in row and (table, k) not in REWRITTEN}
                assert kept == {k: v for k, v in row.items() if (table, k) not in REWRITTEN}, (table, key)

        new = Side(empty_url, scenario["people"])
        try:
            crisis, consultation, n = scenario["crisis"], scenario["consultation"], scenario["nominations"]
            assert "already" in new.say("bob", f"crisis ack {crisis}")  # acknowledged before the upgrade
            new.say("carol", f"crisis ack {crisis}")
            new.say("dave", f"crisis ack {crisis}")
            new.say("comm", f'crisis announce {crisis} "Buses leave at 8 from the car park."')
            new.say("comm", f'crisis answer {scenario["open_question"]} "Yes, parking is free."')
            new.say("alice", f"consult close {consultation}")
            results = new.say("alice", f"consult results {consultation}")
            assert "PagerDuty" in results and "2" in results
            new.say("bob", f"nomination consent {n['awaiting_consent']} yes", direct=True)
            new.say("hr", f"nomination move {n['consented']} under_review", direct=True)
            new.say("hr", f"nomination move {n['offered']} hired", direct=True)
            assert "hired" in new.say("hr", f"nomination show {n['offered']}", direct=True)
            new.say("carol", "community join garden")
            sent = new.deliver()
            again = new.deliver()
        finally:
            new.close()

        final = all_rows(engine)
        assert len(final["crisisack"]) == len(before["crisisack"]) + 2  # carol's and dave's, not bob's again
        assert Counter(r["platform"] for r in final["account"].values()) == accounts  # the same people
        queued = outbox(before, "pending")
        assert queued <= set(sent), f"queued before the upgrade and never sent: {sorted(queued - set(sent))}"
        assert len(sent) == len(set(sent)), "a row was sent twice"
        assert not set(sent) & outbox(before, "sent"), "a row sent before the upgrade was sent again"
        assert again == []
        assert outbox(final, "pending") == set()
    finally:
        engine.dispose()


def test_rolling_update_previous_release_runs_on_the_upgraded_schema(previous: Release, empty_url: str) -> None:
    scenario = run_old(previous, "fill", empty_url)
    upgrade(empty_url)
    new = Side(empty_url, scenario["people"])
    try:
        new.say("alice", 'community create newcode "Written by the new release"')
        new.say("carol", f"crisis ack {scenario['crisis']}")
        written_by_new = set(new.deliver())

        smoke = run_old(previous, "smoke", empty_url)  # an old replica, still serving, on the new schema
        assert smoke["commands"] >= 20 and smoke["sent"] > 0

        # The new release reads what the old one wrote during the roll, and delivers nothing twice.
        status = new.say("comm", f"crisis status {smoke['crisis']}")
        assert "Rolling drill" in status
        assert "under review" in new.say("hr", f"nomination show {smoke['nomination']}", direct=True)
        new.say("judy", "community join rolling")
        new.say("judy", f"vote {smoke['consultation']} 2")
        assert "rolling" in new.say("bob", "community list")
        late = new.deliver()
        assert not set(late) & written_by_new
        assert new.deliver() == []
    finally:
        new.close()
    engine = make_engine(empty_url)
    try:
        rows = all_rows(engine)
        assert outbox(rows, "pending") == set() and len(rows["outboxmessage"]) > len(written_by_new)
    finally:
        engine.dispose()
