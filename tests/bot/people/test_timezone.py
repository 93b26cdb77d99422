"""`profile timezone`: times in the reader's zone and language; channel posts in CERCLE_TIMEZONE.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import select

from bot.crisis.jobs import is_daytime
from storage.db import session_scope
from storage.tables import Account, AuditEntry, Person
from tests.support.chat import Chat
from tests.support.linking import link_accounts
from tests.support.snapshot import snapshot


def zone_of(chat: Chat, user: str) -> str | None:
    with session_scope(chat.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == user)).one()
        person = session.get(Person, account.person_id)
        assert person is not None
        return person.timezone


def test_set_and_show_a_time_zone(chat: Chat) -> None:
    shown = chat.ok("profile show", user="alice")
    assert "Time zone: Europe/Paris (the default)" in shown
    reply = chat.ok("profile timezone america/new_york", user="alice")
    # the frozen clock says 2026-11-23 09:00 UTC: 04:00 in New York
    assert reply == "Your time zone: America/New_York. It is Nov 23, 2026, 4:00\u202fAM (New York) there now."
    assert zone_of(chat, "alice") == "America/New_York"
    assert "Time zone: America/New_York" in chat.ok("profile show", user="alice")
    assert "Time zone: America/New_York" in chat.ok("profile show @alice", user="bob")
    with session_scope(chat.app.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "profile.timezone")).one()
        assert "America/New_York" in audit.details


def test_a_wrong_zone_is_refused_and_changes_nothing(chat: Chat) -> None:
    chat.ok("profile timezone Asia/Tokyo", user="alice")
    before = snapshot(chat.app.engine)
    for bad in ("Mars/Olympus", "localtime", "Paris", "+02:00"):
        error = chat.error(f"profile timezone {bad}", user="alice")
        assert f"'{bad}' is not a time zone" in error and "Europe/Paris" in error
    assert "Missing argument" in chat.error("profile timezone", user="alice")
    assert snapshot(chat.app.engine) == before
    assert zone_of(chat, "alice") == "Asia/Tokyo"


def test_in_french(chat: Chat) -> None:
    chat.ok("langue fr", user="bob")
    reply = chat.ok("profil fuseau Asia/Tokyo", user="bob")
    assert reply == "Votre fuseau horaire\u202f: Asia/Tokyo. Il y est maintenant 23 nov. 2026, 18:00 (Tokyo)."
    assert "Fuseau horaire\u202f: Asia/Tokyo" in chat.ok("profil voir", user="bob")
    error = chat.error("profil fuseau Lune", user="bob")
    assert "«\u202fLune\u202f» n’est pas un fuseau horaire" in error


def test_replies_use_the_readers_zone_and_channel_posts_the_default(town: Chat) -> None:
    town.ok("profile timezone America/New_York", user="alice")
    reply = town.ok('digest schedule garden "0 9 * * 1"', user="alice")
    # Monday 09:00 in Paris (the schedule's zone) is 03:00 in New York, where alice reads it
    assert "Next one: Nov 30, 2026, 3:00\u202fAM (New York)." in reply
    town.ok('consult open garden "Where?" "Lyon" "Paris" --closes 2026-12-01', user="alice")
    posted = [s.text for s in town.deliver() if s.target_kind == "channel"]
    assert any("Closes on Dec 1, 2026, 11:59\u202fPM (Paris)." in text for text in posted), posted
    town.ok("profile timezone UTC", user="bob")
    town.ok('crisis declare "Outage" --audience garden', user="admin")
    town.ok('crisis announce C1 "Down."', user="admin")
    town.deliver()
    assert "Announcement — Nov 23, 2026, 9:00\u202fAM (UTC)" in town.ok("crisis status C1", user="bob")
    assert "Announcement — Nov 23, 2026, 10:00\u202fAM (Paris)" in town.ok("crisis status C1", user="carol")


def test_linked_accounts_keep_the_zone(chat: Chat) -> None:
    chat.ok("profile timezone Europe/Lisbon", user="alice")
    link_accounts(chat, {"user": "alice"}, {"user": "U1", "platform": "slack", "workspace": "T1"})
    assert zone_of(chat, "U1") == "Europe/Lisbon"


def test_the_platforms_zone_is_used_until_the_person_chooses_one(town: Chat) -> None:
    """A zone from the chat profile (Matrix's m.tz) counts for replies, private messages and quiet hours;
    an explicit `profile timezone` wins; a zone the platform gets wrong is ignored."""
    assert "Europe/Paris (the default)" in town.ok("profile show", user="bob", timezone="Mars/Olympus")
    shown = town.ok("profile show", user="bob", timezone="America/New_York")
    assert "Time zone: America/New_York (from the chat profile)" in shown
    town.ok('crisis declare "Outage" --audience garden', user="admin")
    town.ok('crisis announce C1 "Down."', user="admin")
    town.deliver()
    # the frozen clock says 09:00 UTC: 04:00 in New York, where bob reads it
    assert "Announcement — Nov 23, 2026, 4:00\u202fAM (New York)" in town.ok("crisis status C1", user="bob")
    with session_scope(town.app.engine) as session:
        bob = session.exec(select(Account).where(Account.user_id == "bob")).one()
        assert bob.platform_timezone == "America/New_York"
        person = session.get(Person, bob.person_id)
        assert person is not None and person.timezone is None
        assert not is_daytime(person, town.app.settings, town.app.clock.now(), [bob])  # 04:00 there
        assert is_daytime(person, town.app.settings, town.app.clock.now(), [])  # 10:00 in Paris
    town.ok("profile timezone Asia/Tokyo", user="bob", timezone="America/New_York")
    assert "Announcement — Nov 23, 2026, 6:00\u202fPM (Tokyo)" in town.ok("crisis status C1", user="bob",
                                                                          timezone="America/New_York")
