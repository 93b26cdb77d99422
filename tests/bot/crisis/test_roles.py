"""Each role × each crisis command: who may, who is refused (with a clear reply and no change)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlmodel import func, select

from bot.cli import main
from storage.db import session_scope
from storage.tables import AuditEntry, OutboxMessage
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat, found

# admin: configured admin; dave: the crisis's communicator; olga: communicator role, not of this crisis;
# bob: member of the audience; eve: outside the audience.
ROLES = ("admin", "dave", "olga", "bob", "eve")


def changes(chat: Chat) -> tuple[int, int]:
    with session_scope(chat.app.engine) as s:
        return (s.exec(select(func.count()).select_from(AuditEntry)).one(),
                s.exec(select(func.count()).select_from(OutboxMessage)).one())


def fresh(chat: Chat) -> int:
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    return cid


def check(chat: Chat, command: str, allowed: set[str], refusal: str) -> None:
    for user in ROLES:
        cid = fresh(chat)
        qid = int(found(r"Q(\d+)", chat.ok(f'crisis ask C{cid} "Q?"', user="bob")))
        line = command.format(cid=cid, qid=qid)
        if user in allowed:
            chat.ok(line, user=user)
        else:
            before = changes(chat)
            assert refusal.format(cid=cid) in chat.error(line, user=user), (user, line)
            assert changes(chat) == before, (user, line)


def test_declare(chat: Chat) -> None:
    setup_people(chat)
    for user in ROLES:
        if user in ("admin", "dave", "olga"):
            chat.ok('crisis declare "T" --audience ops', user=user)
        else:
            assert "communicator role" in chat.error('crisis declare "T" --audience ops', user=user)


def test_communicator_commands(chat: Chat) -> None:
    setup_people(chat)
    speakers = {"admin", "dave"}
    check(chat, 'crisis announce C{cid} "More."', speakers, "Only the communicators of C")
    check(chat, "crisis questions C{cid}", speakers, "Only the communicators of C")
    check(chat, 'crisis answer Q{qid} "A."', speakers, "Only the communicators of C")
    check(chat, "crisis remind C{cid}", speakers, "Only the communicators of C")
    check(chat, "crisis close C{cid}", speakers, "Only the communicators of C")


def test_everyone_commands(chat: Chat) -> None:
    setup_people(chat)
    # Acknowledgements count the audience: a communicator is told so; for anyone outside the audience the crisis
    # does not exist (the answer to an unknown code, issue 12). Nothing is recorded either way.
    check(chat, "crisis ack C{cid}", {"bob"}, "C{cid}")
    assert "acknowledgements count the people" in chat.error("crisis ack C1", user="dave")
    for outsider in ("olga", "eve"):
        assert chat.error("crisis ack C1", user=outsider) == chat.error("crisis ack C999", user=outsider).replace(
            "C999", "C1")
    check(chat, 'crisis ask C{cid} "Why?"', {"admin", "dave", "bob"}, "There is no crisis C")
    for user in ROLES:
        if user in ("olga", "eve"):  # neither its audience nor its communicators: as for an unknown code
            assert chat.error("crisis status C1", user=user) == "There is no crisis C1."
            continue
        text = chat.ok("crisis status C1", user=user)
        assert ("Not acknowledged yet" in text) == (user in ("admin", "dave")), user


def test_communicators_named_at_declaration(chat: Chat) -> None:
    setup_people(chat)
    chat.ok('crisis declare "T" --audience ops --communicators @bob,@carol', user="dave")
    chat.ok('crisis announce C1 "From bob."', user="bob")
    assert "Only the communicators" in chat.error('crisis announce C1 "x"', user="olga")


def test_export_timeline(chat: Chat, database_url: str) -> None:
    setup_people(chat)
    cid = fresh(chat)
    chat.ok(f"crisis ack C{cid}", user="bob")
    q1 = found(r"Q(\d+)", chat.ok(f'crisis ask C{cid} "Named?"', user="bob"))
    chat.ok(f'crisis ask C{cid} "Secret?" --anonymous', user="alice", direct=True)
    chat.ok(f'crisis answer Q{q1} "Yes."', user="dave")
    chat.deliver()
    runner = CliRunner()
    env = {"CERCLE_DATABASE_URL": database_url}
    result = runner.invoke(main, ["export", "crisis", f"C{cid}", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["code"] == f"C{cid}" and data["audience"]["people"] == 2
    ann = data["announcements"][0]
    assert ann["text"] == "Read me." and ann["delivered"] == 2 and ann["acknowledged"] == 1 and ann["percent"] == 50
    assert [(q["text"], q["answer"], q["anonymous"]) for q in data["questions"]] == [
        ("Named?", "Yes.", False), ("Secret?", None, True)]
    assert "alice" not in result.output and "bob" not in result.output
    md = runner.invoke(main, ["export", "crisis", f"C{cid}"], env=env)
    assert md.exit_code == 0 and "## Announcements" in md.output and "**Answer** (dave" in md.output
    french = runner.invoke(main, ["export", "crisis", f"C{cid}", "--markdown"], env={**env, "CERCLE_LOCALE": "fr"})
    assert french.exit_code == 0 and "## Annonces" in french.output and "**Réponse** (dave" in french.output
    missing = runner.invoke(main, ["export", "crisis", "C99"], env=env)
    assert missing.exit_code == 1 and "no crisis C99" in missing.output
