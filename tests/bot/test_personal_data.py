"""`cercle export person` is the core's, and each capability adds its part: what the person may see of
their own data, and nothing that anonymity hides (an anonymous vote's choice, an anonymous question)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.app import build, default_capabilities
from bot.capability import Capability
from bot.clock import FrozenClock
from bot.personal_data import as_text, person_data
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Person
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat, found


def _export(chat: Chat, name: str) -> dict[str, Any]:
    with session_scope(chat.app.engine) as session:
        person = next(p for p in session.exec(select(Person)) if p.display_name == name)
        return person_data(session, chat.app.settings, person, chat.app.assembly.exporters)


def test_each_capability_adds_its_part_and_anonymity_holds(chat: Chat) -> None:
    setup_people(chat)  # ops: alice manages, bob is a member
    chat.ok("profile skills kafka", user="bob")
    chat.ok('consult open ops "Lunch?" "Pizza" "Salad"', user="alice")
    chat.ok('consult open ops "Trust the board?" "Yes" "No" --anonymous', user="alice")
    chat.ok("vote V1 2", user="bob")
    chat.ok("vote V2 1", user="bob", direct=True)
    chat.ok('idea ops "A shared calendar"', user="bob")
    chat.ok('idea ops "Standing desks"', user="alice")
    chat.ok("idea upvote I2", user="bob")
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.ok(f"crisis ack C{cid}", user="bob")
    named = found(r"Q(\d+)", chat.ok(f'crisis ask C{cid} "Will we move?"', user="bob"))
    chat.ok(f'crisis ask C{cid} "Secret worry" --anonymous', user="bob", direct=True)

    data = _export(chat, "bob")
    assert list(data)[:8] == ["person", "accounts", "roles", "skills", "communities", "nominations_made",
                              "nominations_received", "votes"]  # the core's part, then the assembly's order
    assert data["skills"] == ["kafka"] and [c["slug"] for c in data["communities"]] == ["ops"]
    assert data["votes"] == [
        {"consultation": "V1", "question": "Lunch?", "anonymous": False, "choice": "2. Salad"},
        {"consultation": "V2", "question": "Trust the board?", "anonymous": True, "choice": ""}]
    assert [i["text"] for i in data["ideas"]] == ["A shared calendar"]
    assert data["ideas_upvoted"] == ["I2"]
    acks, questions = data["crisis_acknowledgements"], data["crisis_questions"]
    assert [(a["crisis"], a["announcement"]) for a in acks] == [(f"C{cid}", 1)]
    assert [(q["code"], q["text"]) for q in questions] == [(f"Q{named}", "Will we move?")]
    exported = json.dumps(data) + as_text(data)
    assert "Secret worry" not in exported and "Yes" not in exported  # what anonymity hides is nobody's
    assert "Secret worry" not in json.dumps(_export(chat, "dave"))


def test_a_part_cannot_overwrite_another(settings: Settings, engine: Engine) -> None:
    clash = Capability("clash", export=lambda session, settings, person_id: {"skills": ["forged"]})
    chat = Chat(build(settings, clock=FrozenClock(), migrate=False, engine=engine,
                      capabilities=(*default_capabilities(), clash)))
    chat.ok("profile skills kafka", user="bob")
    with pytest.raises(ValueError, match="skills"):
        _export(chat, "bob")
