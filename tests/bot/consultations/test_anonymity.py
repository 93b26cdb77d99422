"""Anonymous consultations: no table holds a path from a vote to a person, and votes are final."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col, select

from bot.app import build
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Account, ConsultationOption, ConsultationVoter, Person
from tests.support.chat import Chat


def _all_rows(chat: Chat) -> dict[str, list[dict[str, object]]]:
    """Every row of every table, as a database reader would see it."""
    with chat.app.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {n: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{n}"'))] for n in names}


def test_no_query_path_from_an_anonymous_vote_to_a_person(town: Chat) -> None:
    town.ok('consult open garden "Trust the board?" "Yes" "No" "Unsure" --anonymous', user="alice")
    town.ok("vote V1 3", user="bob", direct=True)
    town.ok("vote V1 3", user="carol", direct=True)
    town.ok("vote V1 1", user="alice", direct=True)
    town.deliver()
    with session_scope(town.app.engine) as session:
        people = {p.display_name: p.id for p in session.exec(select(Person))}
        options = {o.number: o.id for o in session.exec(select(ConsultationOption))}
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] \
            == [1, 0, 2]
        voters = list(session.exec(select(ConsultationVoter)))
        assert {v.person_id for v in voters} == {people["bob"], people["carol"], people["alice"]}
        assert all(v.option_id is None for v in voters)
        assert session.exec(select(Account)).first() is not None
    rows = _all_rows(town)
    # The only tables whose columns can name an option are the options themselves and the voters (NULL).
    for table in SQLModel.metadata.sorted_tables:
        option_columns = [c.name for c in table.columns
                          if any(fk.column.table.name == "consultationoption" for fk in c.foreign_keys)]
        for column in option_columns:
            assert all(r[column] is None for r in rows[table.name]), f"{table.name}.{column} links a choice"
    # Nothing written anywhere (audit details, activity, outbox bodies) mentions the choice of a voter.
    for entry in rows["auditentry"]:
        if entry["action"] == "consultation.vote":
            assert json.loads(str(entry["details"])) == {}
    assert all(r["person_id"] is None for r in rows["communityactivity"] if r["kind"] == "voted")
    assert not any("Unsure" in str(r["body"]) and r["person_id"] for r in rows["outboxmessage"])
    assert set(options) == {1, 2, 3}


def test_anonymous_vote_is_final_and_managers_see_totals_only(town: Chat) -> None:
    town.ok('consult open garden "Trust the board?" "Yes" "No" --anonymous', user="alice")
    assert "Nobody can see what you chose" in town.ok("vote V1 2", user="bob", direct=True)
    assert "Anonymous votes are final" in town.error("vote V1 1", user="bob", direct=True)
    # No live tally, managers included: each vote would move it by one (issue 12). The closing shows it.
    assert "shown when it closes" in town.ok("consult results V1", user="alice")
    town.ok("consult close V1", user="alice")
    text = town.ok("consult results V1", user="alice")
    assert "2. No — 1 vote (100%)" in text and "bob" not in text and "Your vote" not in text
    with session_scope(town.app.engine) as session:
        assert [o.votes for o in session.exec(select(ConsultationOption).order_by(col(ConsultationOption.number)))] \
            == [0, 1]


def test_postgres_row_versions_do_not_tell_which_option_a_voter_chose(postgres_engine: Engine) -> None:
    """On PostgreSQL every row shows the transaction that wrote it (xmin): a vote rewrites all options.
    (SQLite rows carry no such id, so this question only exists on PostgreSQL.)"""
    settings = Settings(database_url=postgres_engine.url.render_as_string(hide_password=False))
    chat = Chat(build(settings, clock=FrozenClock(), migrate=False, engine=postgres_engine))
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    chat.ok("community join garden", user="bob")
    chat.ok('consult open garden "Trust the board?" "Yes" "No" "Unsure" --anonymous', user="alice")
    chat.ok("vote V1 2", user="bob", direct=True)
    with postgres_engine.connect() as conn:
        voter_tx = conn.execute(text("SELECT xmin::text FROM consultationvoter")).scalar_one()
        option_tx = {str(r[0]) for r in conn.execute(text("SELECT xmin::text FROM consultationoption"))}
    assert option_tx == {voter_tx}  # all three options were written by the vote: no one stands out
