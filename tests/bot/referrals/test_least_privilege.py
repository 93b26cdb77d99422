"""Least privilege, tried as the issue's attacker did: an admin who is not HR, an HR person nominated
themselves, a former HR person who opened the position, and an admin granting themselves a role."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FrozenClock
from bot.referrals import jobs
from tests.bot.referrals.helpers import HR_NOTE, dms_to, nominate, open_position, setup_hr, snapshot
from tests.support.chat import Chat, Sent


def _hr_nominee_consents(chat: Chat) -> list[Sent]:
    """Marc nominates HR's hannah for P1 and she consents: what her consent sent."""
    open_position(chat)
    nominate(chat, who="hannah")
    chat.deliver()
    chat.ok("nomination consent N1 yes", user="hannah", direct=True)
    return chat.deliver()


def test_an_admin_who_is_not_hr_reads_no_nomination(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.deliver()
    hidden = chat.error("nomination show N1", user="admin", direct=True)
    assert hidden == chat.error("nomination show N99", user="admin", direct=True).replace("N99", "N1")
    listing = chat.ok("nomination list", user="admin", direct=True)
    assert "N1" not in listing and "HR queue" not in listing and "bob" not in listing
    assert "Nominations (HR)" not in chat.ok("position show P1", user="admin", direct=True)
    before = snapshot(chat)
    chat.error("nomination move N1 under_review", user="admin", direct=True)
    assert snapshot(chat) == before
    assert "Only HR people" in chat.error('position open "Chef" --site Lyon', user="admin", direct=True)


def test_a_nominated_hr_person_is_a_plain_nominee_and_the_other_hr_people_handle_it(chat: Chat) -> None:
    setup_hr(chat, "hannah")
    setup_hr(chat, "henry")
    sent = _hr_nominee_consents(chat)
    assert any(s.target_id == "henry" and "consented" in s.text for s in sent)
    assert not any(s.target_id == "hannah" and "consented to the nomination" in s.text for s in sent)
    chat.ok(f'nomination move N1 under_review "{HR_NOTE}"', user="henry", direct=True)

    own = chat.ok("nomination show N1", user="hannah", direct=True)
    assert "Nominee: hannah" in own and HR_NOTE not in own  # not HR's private notes about herself
    before = snapshot(chat)
    refused = chat.error("nomination move N1 interview", user="hannah", direct=True)
    assert "is about you" in refused and "other HR people" in refused
    chat.error("nomination move N1 hired", user="hannah", direct=True)
    assert snapshot(chat) == before
    queue = chat.ok("nomination list", user="hannah", direct=True)
    assert "HR queue" in queue and "nominated by marc" not in queue  # her own is not in her queue
    assert "N1 — you" in queue  # she sees it as any nominee does
    assert "N1 — hannah, nominated by marc" in chat.ok("nomination list", user="henry", direct=True)


def test_with_no_other_hr_person_the_nomination_waits_and_admins_are_told(chat: Chat) -> None:
    setup_hr(chat, "hannah")
    sent = _hr_nominee_consents(chat)
    to_admin = [s.text for s in sent if s.target_id == "admin"]
    assert len(to_admin) == 1 and "role grant @person hr" in to_admin[0]
    assert "hannah" not in to_admin[0] and "N1" not in to_admin[0] and "Data engineer" not in to_admin[0]
    assert not [s for s in sent if s.target_id == "hannah" and "consented to the nomination" in s.text]
    chat.ok("role grant @henry hr", user="admin")
    assert "N1 — hannah" in chat.ok("nomination list", user="henry", direct=True)
    assert "moved from" in chat.ok("nomination move N1 under_review", user="henry", direct=True)


def test_a_former_hr_person_who_opened_the_position_hears_nothing_more(chat: Chat, clock: FrozenClock) -> None:
    setup_hr(chat, "hannah")
    open_position(chat)  # opened by hannah
    chat.ok("role revoke @hannah hr", user="admin")
    setup_hr(chat, "henry")
    chat.deliver()
    nominate(chat)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    sent = chat.deliver()
    assert any(s.target_id == "henry" and "bob consented" in s.text for s in sent)
    assert not [s for s in sent if s.target_id == "hannah"]
    clock.advance(timedelta(days=15))
    assert jobs.hr_digest(chat.app.job_context()) == 1
    digests = chat.deliver()
    assert [s.target_id for s in digests] == ["henry"]
    assert "N1" not in chat.ok("nomination list", user="hannah", direct=True)
    chat.error("nomination show N1", user="hannah", direct=True)


def test_the_hr_digest_leaves_out_nominations_about_its_reader(chat: Chat, clock: FrozenClock) -> None:
    setup_hr(chat, "hannah")
    setup_hr(chat, "henry")
    open_position(chat)
    nominate(chat, who="hannah")
    chat.ok("nomination consent N1 yes", user="hannah", direct=True)
    chat.deliver()
    clock.advance(timedelta(days=15))
    assert jobs.hr_digest(chat.app.job_context()) == 1
    assert [s.target_id for s in chat.deliver()] == ["henry"]


def test_granting_oneself_a_role_is_announced_to_its_other_holders(chat: Chat) -> None:
    setup_hr(chat, "hannah")
    chat.ok("role grant @carla communicator", user="admin")
    chat.deliver()
    assert "other people holding it have been told" in chat.ok("role grant @admin hr", user="admin")
    assert dms_to(chat, "hannah") == ["admin gave themselves the hr role in Cercle."]
    chat.ok("role grant @admin communicator", user="admin")
    assert dms_to(chat, "carla") == ["admin gave themselves the communicator role in Cercle."]
    chat.ok("role grant @olga admin", user="admin")
    chat.deliver()
    chat.ok("role grant @olga hr", user="olga")  # olga, a granted admin, takes hr: hannah and admin hear of it
    told = {s.target_id: s.text for s in chat.deliver()}
    assert told == {"hannah": "olga gave themselves the hr role in Cercle.",
                    "admin": "olga gave themselves the hr role in Cercle."}
