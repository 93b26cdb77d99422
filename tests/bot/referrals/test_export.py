"""Exports: HR's CSV names a nominee only once they consented; a person's export holds only what
they may see."""

from __future__ import annotations

import csv
import io

from sqlmodel import select

from bot.personal_data import person_data
from bot.referrals.export import write_nominations_csv
from storage.db import session_scope
from storage.tables import Person
from tests.bot.referrals.helpers import HR_NOTE, WHY, nominate, open_position, setup_hr
from tests.support.chat import Chat


def _setup(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat, who="bob")  # N1: consented, with a private HR note
    nominate(chat, who="eve")  # N2: declined
    nominate(chat, who="ann")  # N3: awaiting consent
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok("nomination consent N2 no", user="eve", direct=True)
    chat.ok(f'nomination move N1 under_review "{HR_NOTE}"', user="hannah", direct=True)
    chat.ok("profile skills kafka", user="marc")


def test_csv_names_only_consenting_nominees(chat: Chat) -> None:
    _setup(chat)
    out = io.StringIO()
    with session_scope(chat.app.engine) as session:
        assert write_nominations_csv(session, out, chat.app.clock.now()) == 3
    rows = {r["nomination"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert (rows["N1"]["nominee"], rows["N1"]["argument"], rows["N1"]["state"]) == ("bob", WHY, "under_review")
    for code, state in (("N2", "declined"), ("N3", "awaiting_consent")):
        assert (rows[code]["nominee"], rows[code]["argument"], rows[code]["state"]) == ("", "", state)
    assert HR_NOTE not in out.getvalue() and "eve" not in out.getvalue() and "ann" not in out.getvalue()


def test_person_export_is_their_own_view(chat: Chat) -> None:
    _setup(chat)
    with session_scope(chat.app.engine) as session:
        people = {p.display_name: p for p in session.exec(select(Person))}
        marc = people["marc"]
        data = person_data(session, chat.app.settings, marc, chat.app.assembly.exporters)
        bob = person_data(session, chat.app.settings, people["bob"], chat.app.assembly.exporters)
    assert data["skills"] == ["kafka"]
    made = {n["code"]: n for n in data["nominations_made"]}
    assert made["N1"]["nominee"] == "bob" and made["N2"]["state"] == "closed"  # a decline is only "closed"
    assert HR_NOTE not in str(data) and HR_NOTE not in str(bob)
    assert [n["code"] for n in bob["nominations_received"]] == ["N1"]
    assert bob["nominations_received"][0]["argument"] == WHY
