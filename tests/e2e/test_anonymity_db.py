"""The database reader's attacks on anonymity (issue #12), on SQLite and PostgreSQL.

Twenty people use Cercle before and after an anonymous question and a secret vote, through the real
router, in private conversations (their direct channels and event keys name them, as Slack's and
Matrix's do). Then the test reads the whole database, as someone holding a copy would, and runs the
known attacks: the nearest times in every datetime column of every table, id and SQLite rowid
neighbours, PostgreSQL `xmin` (transaction) and `ctid` (physical order) neighbours; it looks at
outbox rows, audit rows, processed events and the metrics text. No attack may rank the real author
first on their own. A control shows the same attacks single out the author of a *named* question
whose person columns are hidden: the attacks are not blind.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from bot import metrics
from bot.clock import FrozenClock
from storage.db import session_scope
from tests.support.chat import Chat, found

PEOPLE = [f"p{n:02d}" for n in range(20)]
AUTHOR, VOTER, NAMED = "p07", "p12", "p03"  # the anonymous asker, the one who votes "Plan B", a named asker
NAME = re.compile(r"\bp\d\d\b")


@dataclass
class Row:
    table: str
    key: tuple[Any, ...]
    values: dict[str, Any]
    persons: set[int] = field(default_factory=set)
    order: dict[str, int] = field(default_factory=dict)  # rowid / xmin / ctid, when the database has them


def read_database(engine: Engine, names: dict[str, int]) -> list[Row]:
    """Every row of every table, with what names a person and the database's hidden orderings."""
    dialect = engine.dialect.name
    extra: list[Any] = ([literal_column("rowid").label("_rowid")] if dialect == "sqlite" else
             [literal_column("xmin::text::bigint").label("_xmin"), literal_column("ctid::text").label("_ctid")])
    rows: list[Row] = []
    with session_scope(engine) as session:
        accounts = {a: p for a, p in session.execute(select(literal_column("id"), literal_column("person_id"))
                                                     .select_from(SQLModel.metadata.tables["account"]))}
        for table in SQLModel.metadata.sorted_tables:
            for found_row in session.execute(select(*extra, *table.c)).mappings():
                values = {c.name: found_row[c.name] for c in table.c}
                row = Row(table.name, tuple(values[c.name] for c in table.primary_key.columns), values)
                for name in ("_rowid", "_xmin"):
                    if name in found_row:
                        row.order[name] = int(found_row[name])
                if "_ctid" in found_row:
                    page, offset = found_row["_ctid"].strip("()").split(",")
                    row.order["_ctid"] = int(page) * 10_000 + int(offset)
                row.persons = _persons(table, values, accounts, names)
                rows.append(row)
    return rows


def _persons(table: Any, values: dict[str, Any], accounts: dict[int, int], names: dict[str, int]) -> set[int]:
    persons: set[int] = set()
    if table.name == "person":
        persons.add(values["id"])
    for column in table.c:
        value = values[column.name]
        if value is None:
            continue
        for fk in column.foreign_keys:
            if fk.column.table.name == "person":
                persons.add(int(value))
            elif fk.column.table.name == "account":
                persons.add(accounts[int(value)])
        if isinstance(value, str):
            persons.update(names[n] for n in NAME.findall(value) if n in names)
    return persons


Attack = Callable[[list[Row], list[Row]], dict[int, float]]


def _best(scores: dict[int, float]) -> set[int]:
    low = min(scores.values())
    return {p for p, s in scores.items() if s == low}


def nearest_time(anchors: list[Row], others: list[Row]) -> dict[int, float]:
    """Every datetime of every table against every datetime of the anonymous rows."""
    times = [v for a in anchors for v in a.values.values() if isinstance(v, datetime)]
    scores: dict[int, float] = {}
    for row in others:
        for value in row.values.values():
            if isinstance(value, datetime) and times:
                gap = min(abs((value - t).total_seconds()) for t in times)
                for person in row.persons:
                    scores[person] = min(scores.get(person, gap), gap)
    return scores


def neighbours(order: str, *, same_table: bool) -> Attack:
    """Rows next to the anonymous ones in id / rowid / xmin / ctid order."""

    def attack(anchors: list[Row], others: list[Row]) -> dict[int, float]:
        scores: dict[int, float] = {}
        for anchor in anchors:
            mark = anchor.key[0] if order == "id" else anchor.order.get(order)
            if not isinstance(mark, int):
                continue
            for row in others:
                if same_table and row.table != anchor.table:
                    continue
                other = row.key[0] if order == "id" else row.order.get(order)
                if not isinstance(other, int) or (order == "id" and len(row.key) != 1):
                    continue
                gap = float(abs(other - mark))
                for person in row.persons:
                    scores[person] = min(scores.get(person, gap), gap)
        return scores

    return attack


def attacks(engine: Engine) -> dict[str, Attack]:
    found_attacks: dict[str, Attack] = {"time": nearest_time, "id": neighbours("id", same_table=True)}
    if engine.dialect.name == "sqlite":
        found_attacks["rowid"] = neighbours("_rowid", same_table=True)
    else:
        found_attacks["xmin"] = neighbours("_xmin", same_table=False)
        found_attacks["ctid"] = neighbours("_ctid", same_table=True)
    return found_attacks


class Scenario:
    """Twenty people acting in their private conversations, a few seconds apart, with event keys naming them."""

    def __init__(self, chat: Chat, clock: FrozenClock) -> None:
        self.chat, self.clock, self.n = chat, clock, 0
        self.rng = random.Random(12)

    def act(self, user: str, text: str) -> str:
        self.n += 1
        self.clock.advance(timedelta(seconds=self.rng.randint(20, 90)))
        return self.chat.ok(text, user=user, direct=True, event_key=f"action:{self.n}:{user}")

    def inserted_by(self, user: str, text: str) -> tuple[str, list[tuple[str, tuple[Any, ...]]], list[str]]:
        """Run one command; the rows it inserted and the tables where it changed an existing row."""
        before = {(r.table, r.key): r.values for r in read_database(self.chat.app.engine, {})}
        reply = self.act(user, text)
        after = {(r.table, r.key): r.values for r in read_database(self.chat.app.engine, {})}
        new = [k for k in after if k not in before]
        changed = sorted({k[0] for k in after if k in before and after[k] != before[k]})
        return reply, new, changed


def _commands_counted(name: str) -> float:
    text = metrics.exposition()[0].decode()
    return sum(float(v) for v in re.findall(r'cercle_commands_total\{command="' + name + r'",outcome="[a-z_]+"\} (\S+)',
                                             text))


def test_no_attack_on_a_database_copy_singles_out_the_anonymous_asker_or_the_secret_voter(
        chat: Chat, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 11, 23, 8, 40, tzinfo=UTC))
    play = Scenario(chat, clock)
    play.act("admin", 'community create staff "Staff"')
    chat.ok("community link staff", user="admin", channel="staff")
    play.act("admin", "role grant @comms communicator")
    order = PEOPLE[:]
    play.rng.shuffle(order)
    for person in order:
        play.act(person, "community join staff")
    cid = int(found(r"Crisis C(\d+)", play.act("comms", 'crisis declare "Site closure" --audience staff')))
    play.act("comms", f'crisis announce C{cid} "The plan is published."')
    vid = int(found(r"V(\d+)", play.act("admin", 'consult open staff "Which plan?" "Plan A" "Plan B" --anonymous')))
    chat.deliver()

    play.rng.shuffle(order)
    for person in order:  # everyone acknowledges, the author and the voter among them
        play.act(person, f"crisis ack C{cid}")
    _reply, named_rows, _changed = play.inserted_by(NAMED, f'crisis ask C{cid} "When is the meeting?"')

    voters = [p for p in order if p not in (VOTER, NAMED)]  # the named asker's question is their last action
    voters.insert(9, VOTER)  # the secret voter votes in the middle of the round
    asked_at = len(voters) // 2 + 2
    anonymous_rows: list[tuple[str, tuple[Any, ...]]] = []
    counted_before = _commands_counted("crisis ask")
    for i, person in enumerate(voters):
        if i == asked_at:  # the anonymous question, amid the votes
            reply, anonymous_rows, changed = play.inserted_by(
                AUTHOR, f'crisis ask C{cid} "Is the Lyon site closing? (secret)" --anonymous')
            ask_event = f"action:{play.n}:{AUTHOR}"
            assert "Keep the code" in reply
            assert changed == []  # not even the asker's account (last_seen_at) was touched
        play.act(person, f"vote V{vid} {2 if person == VOTER else 1}")
    assert _commands_counted("crisis ask") == counted_before  # a metrics scrape cannot time it
    play.act("p15", f'crisis ask C{cid} "Will there be a bus?"')
    for person in [p for p in order if p != NAMED][:8]:
        play.act(person, "profile skills logistics")
    chat.deliver()

    engine = chat.app.engine
    with session_scope(engine) as session:
        names = dict(session.execute(select(literal_column("user_id"), literal_column("person_id"))
                                     .select_from(SQLModel.metadata.tables["account"])).all())
    rows = read_database(engine, names)
    by_key = {(r.table, r.key): r for r in rows}
    assert sorted(t for t, _k in anonymous_rows) == ["anonymousrecord", "crisisquestion"]

    def run(anchors: list[Row], label: str, *, required: bool = True) -> dict[str, set[int]]:
        others = [r for r in rows if r not in anchors]
        results = {}
        for name, attack in attacks(engine).items():
            scores = attack(anchors, others)
            if len(scores) >= 2:
                results[name] = _best(scores)
        assert results or not required, f"{label}: no attack had anything to rank"
        return results

    # 1. The anonymous question: its rows carry no person...
    question = [by_key[k] for k in anonymous_rows]
    for row in question:
        assert row.persons == set(), (row.table, row.values)
        assert all(v.minute == v.second == 0 for v in row.values.values() if isinstance(v, datetime))
    # ...and no attack ranks its author first on their own.
    results = run(question, "anonymous question")
    for name, best in results.items():
        assert best != {names[AUTHOR]}, f"the {name} attack singles out the anonymous asker"
    assert {"time", "id"} <= set(results)

    # 2. The secret vote: the only rows that hold the choice are the options' counters.
    with session_scope(engine) as session:
        option_b = session.execute(select(literal_column("id")).select_from(SQLModel.metadata.tables[
            "consultationoption"]).where(literal_column("label") == "Plan B")).scalar_one()
    choice = [by_key[("consultationoption", (option_b,))]]
    assert choice[0].values["votes"] == 1
    # On SQLite nothing even ranks anyone (no time, no person in that table); on PostgreSQL the counters'
    # transaction is the last voter's, whoever it was, since every vote rewrites every option.
    voted = run(choice, "secret vote", required=False)
    for name, best in voted.items():
        assert best != {names[VOTER]}, f"the {name} attack singles out the secret voter"
    if engine.dialect.name == "postgresql":
        assert voted["xmin"] == {names[voters[-1]]}
    for row in rows:  # no other row names an option of the anonymous consultation next to a person
        if row.table == "consultationvoter":
            assert row.values["option_id"] is None

    # 3. Outbox rows, audit rows and processed events hold nothing addressed to or done by the author at the
    # moment of the question: no reply queued to them, no audit row, no processed event of that event.
    for row in rows:
        if row.table in ("outboxmessage", "auditentry", "processedevent"):
            assert "secret" not in str(row.values) and ask_event not in str(row.values), (row.table, row.values)
    metrics_text = metrics.exposition()[0].decode()
    assert not NAME.search(metrics_text) and "secret" not in metrics_text

    # Control: the same attacks against a *named* question whose person columns the attacker pretends not to
    # see. Its precise times (audit row, processed event, which its asker's last_seen_at equals: it was their
    # last action) and its transaction give its author away: the attacks are not blind.
    control = [by_key[k] for k in named_rows if k[0] != "crisisquestion"]
    results = run(control, "control")
    assert results["time"] == {names[NAMED]}
    if engine.dialect.name == "postgresql":
        assert results["xmin"] == {names[NAMED]}
