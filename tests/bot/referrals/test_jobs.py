"""Consent reminders, lapses and HR's digest, driven by the frozen clock and the job functions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import Application
from bot.clock import FrozenClock
from bot.referrals import jobs, service
from storage.db import session_scope
from storage.tables import NominationReminder, OutboxMessage
from tests.bot.referrals.helpers import nominate, nomination, open_position, setup_hr
from tests.support.chat import Chat


@pytest.fixture
def asked(chat: Chat) -> Chat:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    chat.deliver()
    return chat


def _run(app: Application) -> dict[str, int]:
    return jobs.consent_reminders(app.job_context())


def test_one_reminder_then_lapse(asked: Chat, clock: FrozenClock) -> None:
    chat = asked
    clock.advance(timedelta(days=6, hours=23))
    assert _run(chat.app) == {"reminded": 0, "lapsed": 0}
    assert chat.deliver() == []
    clock.advance(timedelta(hours=1))
    assert _run(chat.app) == {"reminded": 1, "lapsed": 0}
    assert _run(chat.app) == {"reminded": 0, "lapsed": 0}  # idempotent
    [reminder] = chat.deliver()
    assert reminder.target_id == "bob" and "Reminder: marc nominated you" in reminder.text
    assert "nomination consent N1 yes" in [b.command for b in reminder.message.buttons()]
    clock.advance(timedelta(days=6, hours=23))
    assert _run(chat.app) == {"reminded": 0, "lapsed": 0}
    clock.advance(timedelta(hours=1))
    assert _run(chat.app) == {"reminded": 0, "lapsed": 1}
    assert _run(chat.app) == {"reminded": 0, "lapsed": 0}
    sent = {s.target_id: s.text for s in chat.deliver()}
    assert "has lapsed: they did not answer within 14 days" in sent["marc"]
    assert "Nobody at HR was told who you are" in sent["bob"]
    assert nomination(chat).state == service.LAPSED
    assert "nothing to answer any more" in chat.error("nomination consent N1 yes", user="bob", direct=True)
    with session_scope(chat.app.engine) as session:
        rounds = sorted(r.round for r in session.exec(select(NominationReminder)))
    assert rounds == [1, 2]


def test_late_job_still_reminds_before_lapsing(asked: Chat, clock: FrozenClock) -> None:
    """Down for three weeks: the nominee still gets the reminder and 7 days to answer."""
    clock.advance(timedelta(days=21))
    assert _run(asked.app) == {"reminded": 1, "lapsed": 0}
    clock.advance(timedelta(days=6))
    assert _run(asked.app) == {"reminded": 0, "lapsed": 0}
    clock.advance(timedelta(days=1))
    assert _run(asked.app) == {"reminded": 0, "lapsed": 1}


def test_answered_nominations_are_left_alone(asked: Chat, clock: FrozenClock) -> None:
    asked.ok("nomination consent N1 yes", user="bob", direct=True)
    asked.deliver()
    clock.advance(timedelta(days=30))
    assert _run(asked.app) == {"reminded": 0, "lapsed": 0}
    assert nomination(asked).state == service.CONSENTED


def _digests(chat: Chat) -> list[OutboxMessage]:
    with session_scope(chat.app.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.subject == "referrals:hr-digest")))


def test_hr_digest_lists_untouched_nominations_once_a_day(asked: Chat, clock: FrozenClock) -> None:
    chat = asked
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.deliver()
    clock.advance(timedelta(days=13))
    jobs.hr_digest(chat.app.job_context())
    assert _digests(chat) == []
    chat.ok("nomination move N1 under_review", user="hannah", direct=True)  # HR touched it: the 14 days start again
    clock.advance(timedelta(days=13))
    jobs.hr_digest(chat.app.job_context())
    assert _digests(chat) == []
    clock.advance(timedelta(days=1))
    jobs.hr_digest(chat.app.job_context())
    jobs.hr_digest(chat.app.job_context())
    clock.advance(timedelta(hours=2))
    jobs.hr_digest(chat.app.job_context())
    assert len(_digests(chat)) == 1
    sent = [s for s in chat.deliver() if s.target_id == "hannah"]
    assert len(sent) == 1
    assert "N1 — bob for P1 (Data engineer) — under review, untouched for 14 days" in sent[0].text
    clock.advance(timedelta(days=1))
    jobs.hr_digest(chat.app.job_context())
    assert len(_digests(chat)) == 2
    chat.ok("nomination move N1 interview", user="hannah", direct=True)
    clock.advance(timedelta(days=1))
    jobs.hr_digest(chat.app.job_context())
    assert len(_digests(chat)) == 2


def test_nominations_awaiting_consent_are_not_in_hr_digest(asked: Chat, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=15))
    jobs.hr_digest(asked.app.job_context())
    assert _digests(asked) == []


def test_jobs_are_registered_with_the_scheduler(app: Application) -> None:
    from bot.scheduler import build_scheduler

    names = {job.name: job.func for job in app.assembly.jobs}
    assert names["referrals.consent"] is jobs.consent_reminders and names["referrals.hr_digest"] is jobs.hr_digest
    scheduled = {job.id for job in build_scheduler(app.job_context()).get_jobs()}
    assert {"referrals.consent", "referrals.hr_digest"} <= scheduled
