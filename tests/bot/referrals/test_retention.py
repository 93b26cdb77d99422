"""Retention (issue #12): a finished nomination keeps its argument and HR's notes for
CERCLE_NOMINATION_RETENTION_DAYS after its last state change, then the daily job redacts them; the rows
stay for counts. A nominee's consent or decline is audited without naming them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FrozenClock
from bot.referrals import retention
from bot.settings import SettingsError
from storage.db import session_scope
from storage.tables import AuditEntry, Nomination, NominationEvent, NominationSupporter
from tests.bot.referrals.helpers import HR_NOTE, WHY, nominate, open_position, setup_hr
from tests.bot.test_settings import load_settings
from tests.support.chat import Chat


def _texts(chat: Chat) -> dict[int, tuple[str, list[str]]]:
    with session_scope(chat.app.engine) as session:
        return {n.id or 0: (n.argument, [e.note for e in session.exec(
            select(NominationEvent).where(NominationEvent.nomination_id == n.id).order_by(col(NominationEvent.id)))
            if e.note]) for n in session.exec(select(Nomination))}


def test_finished_nominations_are_redacted_after_the_retention_period(chat: Chat, clock: FrozenClock) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat, who="bob")  # N1: hired, with HR notes, and backed by a second nominator
    nominate(chat, who="bob", by="olga")
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok(f'nomination move N1 under_review "{HR_NOTE}"', user="hannah", direct=True)
    for state in ("interview", "offered", "hired"):
        chat.ok(f"nomination move N1 {state}", user="hannah", direct=True)
    nominate(chat, who="carla")  # N2: declined
    chat.ok("nomination consent N2 no", user="carla", direct=True)
    nominate(chat, who="dave")  # N3: still in HR's hands
    chat.ok("nomination consent N3 yes", user="dave", direct=True)
    chat.ok(f'nomination move N3 under_review "{HR_NOTE} too"', user="hannah", direct=True)

    clock.advance(timedelta(days=364))
    nominate(chat, who="erin")  # N4: withdrawn much later
    chat.ok("nomination withdraw N4", user="marc", direct=True)
    assert retention.redact_finished(chat.app.job_context()) == 0  # not a year yet
    assert all(argument == WHY for argument, _notes in _texts(chat).values())

    clock.advance(timedelta(days=1, minutes=1))
    assert retention.redact_finished(chat.app.job_context()) == 2
    texts = _texts(chat)
    assert texts[1] == (retention.REDACTED, [retention.REDACTED])
    assert texts[2] == (retention.REDACTED, [])
    assert texts[3] == (WHY, [f"{HR_NOTE} too"])  # not finished: kept
    assert texts[4] == (WHY, [])  # finished one day ago: kept
    assert retention.redact_finished(chat.app.job_context()) == 0  # idempotent
    with session_scope(chat.app.engine) as session:
        (backer,) = session.exec(select(NominationSupporter)).all()
        assert backer.argument == retention.REDACTED

    with session_scope(chat.app.engine) as session:
        hired = session.get(Nomination, 1)
        assert hired is not None and hired.state == "hired"  # the row stays, for counts
        (audit,) = session.exec(select(AuditEntry).where(AuditEntry.action == "nomination.redact")).all()
        assert audit.actor_person_id is None and '"count": 2' in audit.details
    shown = chat.ok("nomination show N1", user="bob", direct=True)
    assert WHY not in shown and "removed: this nomination ended" in shown
    chat.ok("language fr", user="bob", direct=True)
    assert "supprimé" in chat.ok("nomination show N1", user="bob", direct=True)


def test_the_daily_job_is_declared_and_the_period_is_a_setting(chat: Chat) -> None:
    assert any(job.name == "referrals.retention" and job.seconds == 24 * 3600 for job in chat.app.assembly.jobs)
    assert load_settings({}).nomination_retention_days == 365
    assert load_settings({"CERCLE_NOMINATION_RETENTION_DAYS": "30"}).nomination_retention_days == 30
    for wrong in ("0", "a year", "-5"):
        with pytest.raises(SettingsError) as info:
            load_settings({"CERCLE_NOMINATION_RETENTION_DAYS": wrong})
        assert info.value.name == "CERCLE_NOMINATION_RETENTION_DAYS"


def test_consent_and_decline_are_audited_without_naming_the_nominee(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat, who="bob")
    nominate(chat, who="carla")
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok("nomination consent N2 no", user="carla", direct=True)
    with session_scope(chat.app.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "nomination.state")).all()
        assert {r.subject for r in rows} == {"nomination:1", "nomination:2"}
        assert all(r.actor_person_id is None for r in rows)
