"""Nominations: bad input, consent, the HR workflow, withdrawal, and who may see and do what."""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import select

from bot.personal_data import person_data
from bot.referrals import service
from storage.db import session_scope
from storage.tables import AuditEntry, OutboxMessage, Person
from tests.bot.referrals.helpers import (
    HR_NOTE,
    WHY,
    channel_rows,
    dms_to,
    nominate,
    nomination,
    setup_hr,
)
from tests.support.chat import Chat
from tests.support.snapshot import snapshot


@pytest.fixture
def consented(opened: Chat) -> Chat:
    nominate(opened)
    opened.ok("nomination consent N1 yes", user="bob", direct=True)
    opened.deliver()
    return opened


def test_bad_nominations_change_nothing(opened: Chat) -> None:
    chat = opened
    before = snapshot(chat.app.engine)
    cases = {
        f'nominate P9 @bob "{WHY}"': "There is no position P9",
        f'nominate P1 bob "{WHY}"': "'bob' is not a mention of a person",
        "nominate P1 @bob": "Missing argument",
        'nominate P1 @bob "Great person"': "at least a sentence: 20 characters and 3 words",
        'nominate P1 @bob "Extraordinarily-talented-engineer"': "3 words",
        f'nominate P1 @marc "{WHY}"': "You cannot nominate yourself",
        f'nominate PX @bob "{WHY}"': "not a code like P3",
    }
    for text, expected in cases.items():
        assert expected in chat.error(text, user="marc", direct=True), text
    assert "contact HR directly" in chat.error(f'nominate P1 @marc "{WHY}"', user="marc", direct=True)
    assert snapshot(chat.app.engine) == before


def test_nominee_is_asked_in_private_with_position_argument_and_buttons(opened: Chat) -> None:
    reply = nominate(opened)
    assert "Nomination N1" in reply and "asked bob, in private" in reply
    [request] = [s for s in opened.deliver() if s.target_id == "bob"]
    assert request.target_kind == "dm"
    assert "marc nominated you for the internal position P1 — Data engineer" in request.text
    assert WHY in request.text
    buttons = {b.command: b.reaction for b in request.message.buttons()}
    assert buttons == {"nomination consent N1 yes": "👍", "nomination consent N1 no": "👎"}
    assert nomination(opened).state == service.AWAITING_CONSENT


def test_hr_sees_the_nominee_only_after_consent(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    chat.deliver()
    for text in (chat.ok("nomination list", user="hannah", direct=True),
                 chat.ok("nomination show N1", user="hannah", direct=True)):
        assert "not named until they consent" in text and "bob" not in text and WHY not in text
        assert text.count("awaiting consent") == 1  # the state, said once (not also as the nominee's name)
    chat.ok("nomination consent N1 oui", user="bob", direct=True)
    hr = dms_to(chat, "hannah")
    assert any("bob consented to the nomination N1" in t for t in hr)
    shown = chat.ok("nomination show N1", user="hannah", direct=True)
    assert "Nominee: bob" in shown and WHY in shown
    assert "N1 — bob, nominated by marc — consented" in chat.ok("nomination list", user="hannah", direct=True)


def test_consent_yes_tells_nominator_and_hr(opened: Chat) -> None:
    nominate(opened)
    opened.deliver()
    opened.ok("nomination consent N1 yes", user="bob", direct=True)
    sent = opened.deliver()
    to = {s.target_id: s.text for s in sent}
    assert "Good news: bob agreed to be put forward" in to["marc"]
    assert "bob consented to the nomination N1" in to["hannah"]
    assert nomination(opened).state == service.CONSENTED and nomination(opened).consented_at is not None


def test_decline_closes_kindly_and_hr_never_learns(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    chat.deliver()
    assert "not put forward" in chat.ok("nomination consent N1 non", user="bob", direct=True)
    sent = chat.deliver()
    assert [s.target_id for s in sent] == ["marc"]
    assert "is closed and will not go further" in sent[0].text and "declin" not in sent[0].text
    shown = chat.ok("nomination show N1", user="marc", direct=True)
    assert "State: closed" in shown and "declined" not in shown
    assert "N1" not in chat.ok("nomination list", user="hannah", direct=True)
    hr_view = chat.ok("nomination show N1", user="hannah", direct=True)
    assert "bob" not in hr_view and WHY not in hr_view
    assert "already answered" in chat.error("nomination consent N1 yes", user="bob", direct=True)
    assert nomination(chat).state == service.DECLINED


def test_a_decline_is_closed_wherever_a_nominator_looks_even_one_in_hr(opened: Chat) -> None:
    """One rule (`service.shown_state`): the state, the history and the export all say "closed" to a
    nominator, here one who is also HR; only the nominee sees "declined"."""
    chat = opened
    setup_hr(chat, "harry")
    nominate(chat, by="harry")
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    shown = chat.ok("nomination show N1", user="harry", direct=True)
    assert "State: closed" in shown and "— closed" in shown and "declined" not in shown
    assert "declined" not in chat.ok("nomination list", user="harry", direct=True)
    assert "State: declined" in chat.ok("nomination show N1", user="bob", direct=True)
    with session_scope(chat.app.engine) as session:
        harry = next(p for p in session.exec(select(Person)) if p.display_name == "harry")
        data = person_data(session, chat.app.settings, harry, chat.app.assembly.exporters)
    [made] = data["nominations_made"]
    assert made["state"] == "closed" and [h["state"] for h in made["history"]] == ["awaiting_consent", "closed"]
    assert "declined" not in json.dumps(data)


def test_full_hr_workflow_with_notes(consented: Chat) -> None:
    chat = consented
    reply = chat.ok(f'nomination move N1 under_review "{HR_NOTE}"', user="hannah", direct=True)
    assert "N1 moved from consented to under review" in reply and "stays with HR" in reply
    sent = chat.deliver()
    assert sorted(s.target_id for s in sent) == ["bob", "marc"]
    for item in sent:
        assert item.target_kind == "dm" and "now: under review" in item.text and HR_NOTE not in item.text
    chat.ok('nomination move N1 interview "Interview on Monday at 10" --share', user="hannah", direct=True)
    sent = chat.deliver()
    assert sorted(s.target_id for s in sent) == ["bob", "marc"]
    assert all("Interview on Monday at 10" in s.text for s in sent)
    chat.ok("candidature passer N1 offre", user="hannah", direct=True)
    chat.ok("nomination move N1 hired", user="hannah", direct=True)
    assert nomination(chat).state == service.HIRED
    assert "HR cannot move it from there" in chat.error("nomination move N1 rejected", user="hannah", direct=True)
    # HR sees its private note; the nominator sees only the shared one
    assert HR_NOTE in chat.ok("nomination show N1", user="hannah", direct=True)
    marc_view = chat.ok("nomination show N1", user="marc", direct=True)
    assert HR_NOTE not in marc_view and "Interview on Monday at 10" in marc_view and "hired" in marc_view


@pytest.mark.parametrize(("state", "moves", "refused"), [
    ("consented", [], ["interview", "offered", "hired", "consented", "declined"]),
    ("under_review", ["under_review"], ["offered", "hired", "consented"]),
    ("interview", ["under_review", "interview"], ["under_review", "hired"]),
    ("offered", ["under_review", "interview", "offered"], ["interview", "withdrawn"]),
])
def test_refused_transitions_list_allowed_ones(consented: Chat, state: str, moves: list[str],
                                               refused: list[str]) -> None:
    chat = consented
    for move in moves:
        chat.ok(f"nomination move N1 {move}", user="hannah", direct=True)
    before = snapshot(chat.app.engine)
    allowed = ", ".join(service.HR_MOVES[state])
    for target in refused:
        error = chat.error(f"nomination move N1 {target}", user="hannah", direct=True)
        assert f"it can move to: {allowed}." in error, error
    assert "is not a nomination state" in chat.error("nomination move N1 promoted", user="hannah", direct=True)
    assert snapshot(chat.app.engine) == before
    assert nomination(chat).state == state


def test_move_before_consent_refused(opened: Chat) -> None:
    nominate(opened)
    before = snapshot(opened.app.engine)
    assert "HR cannot move it from there" in opened.error("nomination move N1 under_review", user="hannah", direct=True)
    assert snapshot(opened.app.engine) == before


def test_withdraw(consented: Chat) -> None:
    chat = consented
    assert "Only the person who made" in chat.error("nomination withdraw N1", user="bob", direct=True)
    assert "Only the person who made" in chat.error("nomination withdraw N1", user="hannah", direct=True)
    chat.ok("nomination move N1 under_review", user="hannah", direct=True)
    chat.deliver()
    assert "withdrawn" in chat.ok("candidature retrait N1", user="marc", direct=True)
    sent = {s.target_id: s.text for s in chat.deliver()}
    assert "withdrawn by the person who made it" in sent["bob"] and "withdrawn by its nominator" in sent["hannah"]
    assert "there is nothing to withdraw" in chat.error("nomination withdraw N1", user="marc", direct=True)


def test_no_withdrawal_from_offered(consented: Chat) -> None:
    for move in ("under_review", "interview", "offered"):
        consented.ok(f"nomination move N1 {move}", user="hannah", direct=True)
    before = snapshot(consented.app.engine)
    assert "only before an offer" in consented.error("nomination withdraw N1", user="marc", direct=True)
    assert snapshot(consented.app.engine) == before


ROLES = ("marc", "bob", "hannah", "admin", "zoe")  # nominator, nominee, HR, admin (not HR), another member


@pytest.mark.parametrize("user", ROLES)
def test_who_may_see_and_do_what(consented: Chat, user: str) -> None:
    chat = consented
    show = chat.say("nomination show N1", user=user, direct=True)
    listing = chat.ok("nomination list", user=user, direct=True)
    if user in ("zoe", "admin"):  # admins manage roles; they do not read nominations
        # exactly the answer about a code that does not exist (each with its own usage line)
        for command in ("nomination show", "nomination consent", "nomination withdraw", "nomination move"):
            extra = {"nomination consent": " yes", "nomination move": " under_review"}.get(command, "")
            hidden = chat.say(f"{command} N1{extra}", user=user, direct=True)
            unknown = chat.say(f"{command} N99{extra}", user=user, direct=True)
            assert hidden.is_error and unknown.is_error
            assert hidden.message.plain_text() == unknown.message.plain_text().replace("N99", "N1")
        assert "N1" not in listing
    else:
        assert not show.is_error and "Nominee: bob" in show.message.plain_text()
        assert "N1" in listing
    may_move = user == "hannah"
    reply = chat.say("nomination move N1 under_review", user=user, direct=True)
    assert reply.is_error is not may_move
    if not may_move and user not in ("zoe", "admin"):
        assert "Only HR" in reply.message.plain_text()
    if user != "bob":
        consent = chat.say("nomination consent N1 no", user=user, direct=True)
        assert consent.is_error


def test_nothing_reaches_a_channel_the_audit_or_the_logs(opened: Chat, caplog: pytest.LogCaptureFixture) -> None:
    chat = opened
    caplog.set_level(logging.DEBUG)
    chat.ok('community create data "Data" --topics kafka', user="carla")
    chat.ok("community link data", user="carla", channel="data")
    chat.ok('position open "Analyst" --site Paris --skills kafka', user="hannah", channel="general")
    # Typed in a channel, referral commands are refused (issue 12); typed in private, they run.
    assert "confidential" in chat.error(f'nominate P2 @bob "{WHY}"', user="marc", channel="general")
    chat.ok(f'nominate P2 @bob "{WHY}"', user="marc", direct=True)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok(f'nomination move N1 under_review "{HR_NOTE}" --share', user="hannah", direct=True)
    chat.ok("nomination show N1", user="hannah", direct=True)
    for state in ("interview", "offered", "hired"):
        chat.ok(f"nomination move N1 {state}", user="hannah", direct=True)
    chat.ok("nomination list", user="marc", direct=True)
    sent = chat.deliver()
    assert [row.subject for row in channel_rows(chat)] == ["position:2"]  # the announcement, nothing else
    for row in channel_rows(chat):
        assert "N1" not in row.body and "bob" not in row.body and WHY not in row.body and HR_NOTE not in row.body
    with session_scope(chat.app.engine) as session:
        audits = list(session.exec(select(AuditEntry).where(AuditEntry.subject.startswith("nomination"))))
        dms = list(session.exec(select(OutboxMessage).where(OutboxMessage.target_kind == "dm")))
    assert {a.action for a in audits} == {"nomination.create", "nomination.state"}
    for entry in audits:
        assert WHY not in entry.details and HR_NOTE not in entry.details and "bob" not in entry.details
        assert set(json.loads(entry.details)) <= {"position", "state", "before", "after", "note", "shared"}
    assert any(WHY in s.text for s in sent if s.target_kind == "dm" and s.target_id == "bob")  # bob was told
    assert dms and all(WHY not in d.body for d in dms)  # and, delivered, the rows no longer hold it
    chat.deliver()
    assert WHY not in caplog.text and HR_NOTE not in caplog.text


def test_french_speakers_get_french_with_french_words(opened: Chat) -> None:
    chat = opened
    chat.ok("language fr", user="bob")
    chat.ok("language fr", user="marc")
    chat.deliver()
    reply = chat.ok(f'coopter P1 @bob "{WHY}"', user="marc", direct=True)
    assert "Merci\u202f! Cooptation N1\u202f: nous avons demandé à bob, en privé" in reply
    [request] = [s for s in chat.deliver() if s.target_id == "bob"]
    assert "marc vous a coopté·e pour le poste interne P1" in request.text
    assert [b.label for b in request.message.buttons()] == ["Oui, proposez-moi", "Non, merci"]
    assert "Vous avez déjà répondu" not in chat.ok("candidature consentir N1 oui", user="bob", direct=True)
    assert "caractères et 3 mots" in chat.error('coopter P1 @ann "Top"', user="marc", direct=True)
    assert "acceptée" in chat.ok("candidature afficher N1", user="marc", direct=True)


def test_hr_queue_is_capped_in_chat_and_in_workflow_order(opened: Chat) -> None:
    chat = opened
    for i in range(service.QUEUE_LIMIT + 5):  # from 5 people: each may make 10 a day
        chat.ok(f'nominate P1 @person{i} "{WHY}"', user=f"nominator{i % 5}", direct=True)
    chat.ok("nomination consent N45 yes", user="person44", direct=True)
    listing = chat.ok("nomination list", user="hannah", direct=True)
    queue = listing.split("HR queue")[1]
    assert queue.count("• N") == service.QUEUE_LIMIT
    assert "and 5 more: nomination list --page 2" in listing  # a command of the chat, not of the server
    assert queue.index("• N1 ") < queue.index("• N40 ")
    assert "N45" not in queue  # consented comes after the 44 awaiting consent
    second = chat.ok("nomination list --page 2", user="hannah", direct=True).split("HR queue")[1]
    assert second.count("• N") == 5 and "N45" in second and "• N1 " not in second and "more:" not in second
    assert "only 2 pages" in chat.error("nomination list --page 3", user="hannah", direct=True)


PATHS = {"consented": [], "under_review": ["under_review"], "interview": ["under_review", "interview"],
         "offered": ["under_review", "interview", "offered"]}
ALLOWED = [(state, target) for state, targets in service.HR_MOVES.items() for target in targets]


@pytest.mark.parametrize(("state", "target"), ALLOWED)
def test_every_allowed_hr_move(consented: Chat, state: str, target: str) -> None:
    chat = consented
    for move in PATHS[state]:
        chat.ok(f"nomination move N1 {move}", user="hannah", direct=True)
    chat.deliver()
    assert f"N1 moved from {service.STATE_LABELS[state]} to {service.STATE_LABELS[target]}." in chat.ok(
        f"nomination move N1 {target}", user="hannah", direct=True)
    assert nomination(chat).state == target
    told = {s.target_id: s.text for s in chat.deliver()}
    assert set(told) == {"marc", "bob"}
    assert all(f"is now: {service.STATE_LABELS[target]}." in t for t in told.values())


@pytest.mark.parametrize(("path", "allowed"), [
    ([], True),  # awaiting consent
    (["consent"], True),
    (["consent", "under_review"], True),
    (["consent", "under_review", "interview"], True),
    (["consent", "under_review", "interview", "offered"], False),
    (["consent", "under_review", "interview", "offered", "hired"], False),
    (["consent", "rejected"], False),
    (["decline"], False),
])
def test_withdraw_only_before_an_offer(opened: Chat, path: list[str], allowed: bool) -> None:
    chat = opened
    nominate(chat)
    for step in path:
        if step in ("consent", "decline"):
            chat.ok(f"nomination consent N1 {'yes' if step == 'consent' else 'no'}", user="bob", direct=True)
        else:
            chat.ok(f"nomination move N1 {step}", user="hannah", direct=True)
    before = snapshot(chat.app.engine)
    reply = chat.say("nomination withdraw N1", user="marc", direct=True)
    assert reply.is_error is not allowed
    if allowed:
        assert nomination(chat).state == service.WITHDRAWN
    else:
        assert ("can no longer be withdrawn" in reply.message.plain_text()
                or "there is nothing to withdraw" in reply.message.plain_text())
        assert snapshot(chat.app.engine) == before


def test_french_state_words(consented: Chat) -> None:
    for word, state in (("étude", "under_review"), ("entretien", "interview"), ("offre", "offered"),
                        ("recrutement", "hired")):
        consented.ok(f"candidature passer N1 {word}", user="hannah", direct=True)
        assert nomination(consented).state == state
