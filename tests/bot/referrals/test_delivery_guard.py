"""A referral message is sent only if its recipient may still read it when it goes out (bot.referrals.guard):
written for HR, it needs the hr role then; about a nomination, the nomination must still be there."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from sqlmodel import select

from bot.clock import FrozenClock
from bot.outbox.guard import REFUSED, Addressed
from bot.referrals import jobs
from bot.referrals.guard import may_receive
from bot.referrals.retention import redact_finished
from storage.db import session_scope
from storage.tables import AuditEntry, OutboxMessage
from tests.bot.referrals.helpers import WHY, dms_to, nominate, open_position, setup_hr
from tests.support.chat import Chat


def _rows(chat: Chat, subject: str) -> list[OutboxMessage]:
    with session_scope(chat.app.engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.subject == subject)))


def _consented(chat: Chat) -> None:
    """HR (hannah) and a position; marc nominates bob, who consents: HR's notice is queued, not yet sent."""
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    chat.deliver()
    chat.ok("nomination consent N1 yes", user="bob", direct=True)


def test_hr_who_lost_the_role_before_delivery_is_not_told(chat: Chat) -> None:
    _consented(chat)
    chat.ok("role revoke @hannah hr", user="admin")
    sent = chat.deliver()
    assert not any("N1" in s.text or "bob" in s.text for s in sent if s.target_id == "hannah")
    assert [s.target_id for s in sent if "agreed to be put forward" in s.text] == ["marc"]  # the nominator is
    [row] = _rows(chat, "nomination:1:hr-named")
    assert (row.status, row.last_error, row.body, row.person_id, row.target_id) == ("failed", REFUSED, "", None, "")
    with session_scope(chat.app.engine) as session:
        [audit] = session.exec(select(AuditEntry).where(AuditEntry.action == "outbox.refused")).all()
    assert audit.subject == "nomination:1:hr-named" and "bob" not in audit.details and WHY not in audit.details


def test_hr_who_keeps_the_role_is_told(chat: Chat) -> None:
    _consented(chat)
    assert any("bob consented to the nomination N1" in text for text in dms_to(chat, "hannah"))
    [row] = _rows(chat, "nomination:1:hr-named")
    assert row.status == "sent" and row.last_error is None


def test_a_nominee_who_takes_back_their_consent_before_delivery_is_not_named_to_hr(chat: Chat) -> None:
    _consented(chat)
    chat.ok("nomination consent N1 no", user="bob", direct=True)
    assert not any("bob" in text for text in dms_to(chat, "hannah"))
    assert [r.status for r in _rows(chat, "nomination:1:hr-named")] == ["failed"]
    assert [r.status for r in _rows(chat, "nomination:1:hr")] == ["sent"]  # "took back their consent", unnamed


def test_a_nomination_withdrawn_before_its_consent_request_goes_out_never_reaches_the_nominee(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    chat.deliver()
    nominate(chat)
    chat.ok("nomination withdraw N1", user="marc", direct=True)
    assert dms_to(chat, "bob") == []  # neither the request nor its withdrawal: bob never learns of it
    [ask] = _rows(chat, "nomination:1:consent")
    assert (ask.status, ask.last_error, ask.body) == ("failed", REFUSED, "")


def test_a_nomination_withdrawn_after_its_consent_request_is_told_to_the_nominee(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    nominate(chat)
    assert any(WHY in text for text in dms_to(chat, "bob"))
    chat.ok("nomination withdraw N1", user="marc", direct=True)
    assert any("N1" in text and "withdrawn" in text for text in dms_to(chat, "bob"))


def test_a_purged_nomination_is_not_sent_and_the_digest_needs_hr_now(chat: Chat, clock: FrozenClock) -> None:
    _consented(chat)
    chat.deliver()
    chat.ok("nomination move N1 under_review", user="hannah", direct=True)  # bob and marc are told...
    chat.ok("nomination move N1 rejected", user="hannah", direct=True)
    clock.advance(timedelta(days=400))
    assert redact_finished(chat.app.job_context()) == 1  # ...but the nomination is purged before it goes out
    assert [s for s in chat.deliver() if s.target_id in ("bob", "marc")] == []
    statuses = [r.status for r in sorted(_rows(chat, "nomination:1"), key=lambda r: r.id or 0)]
    assert statuses == ["sent", "failed", "failed", "failed", "failed"]  # marc's "agreed" went before
    chat.ok("nominate P1 @carla \"Carla rebuilt the billing pipeline alone last spring.\"", user="marc", direct=True)
    chat.ok("nomination consent N2 yes", user="carla", direct=True)
    chat.deliver()
    clock.advance(timedelta(days=15))
    assert jobs.hr_digest(chat.app.job_context()) == 1
    chat.ok("role revoke @hannah hr", user="admin")
    assert [s.text for s in chat.deliver() if s.target_id == "hannah"] == ["admin took back your hr role in Cercle."]
    assert [r.status for r in _rows(chat, "referrals:hr-digest")] == ["failed"]


def test_the_guard_asks_the_same_few_queries_for_one_row_or_a_whole_batch(chat: Chat) -> None:
    _consented(chat)
    statements: list[str] = []

    def counted(rows: list[Addressed]) -> tuple[int, set[int]]:
        statements.clear()
        with session_scope(chat.app.engine) as session:
            refused = may_receive(session, chat.app.settings, rows)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), refused

    kinds = ("", ":consent", ":hr", ":hr-named", ":consent-reminder")
    batch = [Addressed(i, f"nomination:{1 + i % 3}{kinds[i % 5]}", 1 + i % 7) for i in range(200)]
    batch += [Addressed(500, "referrals:hr-digest", 1), Addressed(501, "referrals:hr-needed", 1)]
    listen = (chat.app.engine, "before_cursor_execute", lambda *args: statements.append(str(args[2])))
    event.listen(*listen)
    try:
        one, _refused = counted(batch[:1])
        many, refused = counted(batch)
    finally:
        event.remove(*listen)
    # nominations, supporters, consent requests, hr, admins (granted; one per configured admin account)
    assert one <= many <= 6 and len(refused) < len(batch)
