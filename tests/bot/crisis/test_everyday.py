"""A communicator's everyday: seeing the crises, undoing one declared by mistake, correcting an answer, and
acknowledgements that count only the audience."""

from __future__ import annotations

from sqlmodel import select

from storage.db import session_scope
from storage.tables import AuditEntry, Crisis, CrisisAck
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat, bullets, found
from tests.support.snapshot import snapshot


def test_closing_a_crisis_that_was_never_announced_posts_nothing(chat: Chat) -> None:
    setup_people(chat)
    chat.ok('crisis declare "Oops" --audience all', user="dave")
    reply = chat.ok("crisis close C1", user="dave")
    assert "Nothing had been announced, so nothing was posted." in reply
    assert chat.deliver() == []


def test_the_close_reply_names_no_server_command(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    reply = chat.ok(f"crisis close C{cid}", user="dave")
    assert "cercle export" not in reply and f"crisis status C{cid}" in reply
    assert len([s for s in chat.deliver() if "is closed by dave" in s.text]) == 2  # ops and ops-fr


def test_cancel_before_any_announcement_posts_nothing(chat: Chat) -> None:
    setup_people(chat)
    chat.ok('crisis declare "Wrong one" --audience ops --communicators @olga', user="dave")
    chat.deliver()
    assert "Only the communicators of C1" in chat.error("crisis cancel C1", user="bob")
    assert "C1 is cancelled. Nothing was posted" in chat.ok("crisis cancel C1", user="dave")
    sent = chat.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("dm", "olga")]  # the other communicator, in private
    assert "dave cancelled the crisis C1 (Wrong one) before any announcement" in sent[0].text
    assert "was cancelled: it is read-only" in chat.error('crisis announce C1 "x"', user="dave")
    assert "was cancelled" in chat.error("crisis cancel C1", user="dave")
    with session_scope(chat.app.engine) as session:
        assert session.exec(select(Crisis)).one().status == "cancelled"
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "crisis.cancel")).one()
    # Once announced, a crisis is closed, not cancelled.
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Real."', user="dave")
    before = snapshot(chat.app.engine)
    assert "cannot be cancelled. Close it instead" in chat.error(f"crisis cancel C{cid}", user="dave")
    assert snapshot(chat.app.engine) == before


def test_crisis_list_shows_what_each_may_see(chat: Chat) -> None:
    setup_people(chat)
    declare(chat)  # C1: announced below
    chat.ok('crisis declare "Draft" --audience ops', user="olga")  # C2: never announced
    chat.ok('crisis declare "Gone" --audience ops', user="dave")  # C3: cancelled
    chat.ok('crisis announce C1 "Read me."', user="dave")
    chat.ok("crisis cancel C3", user="dave")
    def lines(user: str) -> list[str]:
        return bullets(chat.ok("crisis list", user=user))

    assert [x.split(" — ")[0] for x in lines("admin")] == ["C1", "C2", "C3"]
    assert lines("admin")[0].startswith("C1 — Site closure — open, 1 announcement, declared Nov 23, 2026")
    assert "C3 — Gone — cancelled" in lines("admin")[2]
    assert [x.split(" — ")[0] for x in lines("dave")] == ["C1", "C3"]
    assert [x.split(" — ")[0] for x in lines("bob")] == ["C1"]  # announced to him; not the draft
    assert "No crisis concerns you." in chat.ok("crisis list", user="eve")
    chat.ok("langue fr", user="bob")
    assert "C1 — Site closure — ouverte, 1 annonce" in chat.ok("crise liste", user="bob")


def test_acknowledging_from_outside_the_audience_is_refused_clearly(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.ok("community join ops", user="carol")  # joined after the declaration: not in the stored audience
    before = snapshot(chat.app.engine)
    # Outside the audience, the crisis is as unknown as a code that was never given (issue 12).
    assert chat.error(f"crisis ack C{cid}", user="carol") == "There is no crisis C1."
    assert chat.error(f"crisis ack C{cid}", user="eve") == chat.error("crisis ack C42", user="eve").replace("42", "1")
    assert "acknowledgements count the people it is addressed to" in chat.error(f"crisis ack C{cid}", user="dave")
    assert snapshot(chat.app.engine) == before
    assert "recorded" in chat.ok(f"crisis ack C{cid}", user="bob")
    with session_scope(chat.app.engine) as session:
        assert len(session.exec(select(CrisisAck)).all()) == 1


def test_a_wrong_answer_can_be_corrected(chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    qid = int(found(r"Q(\d+)", chat.ok(f'crisis ask C{cid} "Will buses run?"', user="bob")))
    chat.deliver()
    assert "no answer to correct yet" in chat.error(f'crisis answer Q{qid} "Yes" --edit', user="dave")
    chat.ok(f'crisis answer Q{qid} "Yes, from Monday."', user="dave")
    chat.deliver()
    assert "already answered" in chat.error(f'crisis answer Q{qid} "Yes, from Tuesday."', user="dave")
    assert "Only the communicators" in chat.error(f'crisis answer Q{qid} "No" --edit', user="bob")
    reply = chat.ok(f'crisis answer Q{qid} "Yes, from Tuesday." --edit', user="dave")
    assert f"The corrected answer to Q{qid} is posted in every channel of C{cid}." in reply
    sent = chat.deliver()
    posts = [s for s in sent if s.target_kind == "channel"]
    assert len(posts) == 2 and all("Corrected answer from dave" in p.text and "Yes, from Tuesday." in p.text
                                   for p in posts)
    [told] = [s for s in sent if s.target_kind == "dm"]
    assert told.target_id == "bob" and f"The answer to your question Q{qid} about C{cid} was corrected" in told.text
    assert "already the answer" in chat.error(f'crisis answer Q{qid} "Yes, from Tuesday." --edit', user="dave")
    with session_scope(chat.app.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "crisis.answer.edit")).one()
    chat.ok("langue fr", user="dave")
    chat.ok(f'crise répondre Q{qid} "Oui, dès mardi." --corriger', user="dave")


def test_people_named_communicators_are_told_in_private(chat: Chat) -> None:
    setup_people(chat)
    chat.ok("langue fr", user="carol")
    chat.ok('crisis declare "Site closure" --audience ops --communicators @bob,@carol,@dave', user="dave")
    told = {s.target_id: s for s in chat.deliver()}
    assert set(told) == {"bob", "carol"}  # not the declarer
    assert all(s.target_kind == "dm" for s in told.values())
    assert "dave named you a communicator of the crisis C1 (Site closure)" in told["bob"].text
    assert 'crisis announce C1 "<text>"' in told["bob"].text
    assert told["carol"].message.locale == "fr" and "crise annoncer C1" in told["carol"].text
