"""HR's and nominees' everyday: a declined nomination reads as the CSV export says, finished nominations and
closed positions can be seen with their counts, a position can be shown, and a yes can be taken back."""

from __future__ import annotations

import csv
import io

from sqlmodel import select

from bot.referrals import service
from bot.referrals.export import write_nominations_csv
from storage.db import session_scope
from storage.tables import AuditEntry
from tests.bot.referrals.helpers import WHY, dms_to, nominate, nomination, snapshot
from tests.support.chat import Chat


def exported(chat: Chat) -> dict[str, dict[str, str]]:
    out = io.StringIO()
    with session_scope(chat.app.engine) as session:
        write_nominations_csv(session, out, chat.app.clock.now())
    return {row["nomination"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


def test_hr_reads_a_declined_nomination_as_the_csv_export_says(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    row = exported(chat)["N1"]
    assert row["state"] == "declined" and row["nominee"] == "" and row["argument"] == ""
    shown = chat.ok("nomination show N1", user="hannah", direct=True)
    assert "State: declined" in shown and "Nominee: not named (no consent)" in shown
    assert "awaiting consent" not in shown and "closed" not in shown and "bob" not in shown and WHY not in shown
    listed = chat.ok("nomination list --all", user="hannah", direct=True)
    assert "N1 — not named (no consent), nominated by marc — declined" in listed and "bob" not in listed
    # The nominator still only learns it is closed.
    assert "State: closed" in chat.ok("nomination show N1", user="marc", direct=True)


def test_hr_sees_finished_nominations_with_all_and_pages(opened: Chat) -> None:
    chat = opened
    nominate(chat, who="bob")
    nominate(chat, who="ann")
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok("nomination move N1 rejected", user="hannah", direct=True)
    queue = chat.ok("nomination list", user="hannah", direct=True)
    assert "N2 —" in queue and "N1 —" not in queue  # finished: out of the working queue
    everything = chat.ok("nomination list --all", user="hannah", direct=True)
    assert "N1 — bob, nominated by marc — not retained" in everything and "N2 —" in everything
    assert "N1 —" in chat.ok("candidature liste --toutes", user="hannah", direct=True)
    # Not HR: --all changes nothing of what they may see.
    assert "HR queue" not in chat.ok("nomination list --all", user="marc", direct=True)


def test_positions_with_their_counts_for_hr(opened: Chat) -> None:
    chat = opened
    nominate(chat, who="bob")
    nominate(chat, who="ann")
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok('position open "Designer" --site Paris', user="hannah", direct=True)
    chat.ok("position close P2", user="hannah", direct=True)
    assert "P2" not in chat.ok("position list", user="marc", direct=True)
    for_anyone = chat.ok("position list --all", user="marc", direct=True)
    assert "P1 — Data engineer" in for_anyone and "P2 — Designer — Paris (closed)" in for_anyone
    assert "nomination" not in for_anyone.split("Details")[0]  # counts are HR's
    for_hr = chat.ok("position list --all", user="hannah", direct=True)
    assert "P1 — Data engineer — Lyon / Platform (kafka, python — 2 nominations: 2 in progress, 0 finished)" in for_hr
    assert "P2 — Designer — Paris (closed — no nomination)" in for_hr


def test_position_show(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    anyone = chat.say("position show P1", user="marc", direct=True).message
    text = anyone.plain_text()
    assert "P1 — Data engineer — Lyon / Platform" in text and "State: open" in text and "Skills: kafka, python" in text
    assert "Nominations" not in text and [b.label for b in anyone.buttons()] == ["Nominate someone"]
    hr = chat.ok("position show P1", user="hannah", direct=True)
    assert "Nominations (HR): 1 nomination: 1 in progress, 0 finished" in hr and "awaiting consent: 1" in hr
    chat.ok("position close P1", user="hannah", direct=True)
    closed = chat.say("position show P1", user="marc", direct=True).message
    assert "State: closed on Nov 23, 2026" in closed.plain_text() and closed.buttons() == []
    assert "There is no position P9" in chat.error("position show P9", user="marc", direct=True)


def test_a_nominee_may_take_back_a_yes_until_hr_moves_it_on(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.deliver()
    shown = chat.say("nomination show N1", user="bob", direct=True).message
    assert [b.command for b in shown.buttons()] == ["nomination consent N1 no"]
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    assert nomination(chat).state == service.DECLINED and nomination(chat).consented_at is None
    to_hr = dms_to(chat, "hannah")
    assert any("The nominee of N1 for P1" in t and "took back their consent" in t for t in to_hr)
    assert all("bob" not in t for t in to_hr)
    hr_view = chat.ok("nomination show N1", user="hannah", direct=True)
    assert "bob" not in hr_view and WHY not in hr_view  # HR no longer sees who, nor why
    assert exported(chat)["N1"]["nominee"] == ""
    assert "State: closed" in chat.ok("nomination show N1", user="marc", direct=True)
    with session_scope(chat.app.engine) as session:
        states = [a.details for a in session.exec(select(AuditEntry).where(AuditEntry.action == "nomination.state"))]
        assert any('"before": "consented"' in d and '"after": "declined"' in d for d in states)


def test_once_hr_moved_it_on_consent_is_not_taken_back_here(opened: Chat) -> None:
    chat = opened
    nominate(chat)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok("nomination move N1 under_review", user="hannah", direct=True)
    before = snapshot(chat)
    assert "HR has moved it on" in chat.error("nomination consent N1 no", user="bob", direct=True)
    assert "already answered" in chat.error("nomination consent N1 yes", user="bob", direct=True)
    assert snapshot(chat) == before and nomination(chat).state == service.UNDER_REVIEW
