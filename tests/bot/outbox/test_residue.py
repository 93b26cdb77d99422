"""A delivered outbox row keeps no content and, for a direct message, no recipient (issue #12): a copy of
the database does not hold every confidential message ever sent. Its buttons still work."""

from __future__ import annotations

from sqlmodel import col, select

from bot.outbox import sent_message
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.bot.referrals.helpers import WHY, nominate, open_position, setup_hr
from tests.support.chat import Chat


def _rows(chat: Chat) -> list[OutboxMessage]:
    with session_scope(chat.app.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_delivered_consent_request_keeps_no_argument_no_nominee_and_no_recipient(chat: Chat) -> None:
    setup_hr(chat)
    open_position(chat)
    chat.deliver()
    nominate(chat)
    (pending,) = [r for r in chat.pending() if r.target_kind == "dm"]
    assert WHY in pending.body and pending.target_id == "bob" and pending.person_id is not None  # before

    sent = [s for s in chat.deliver() if s.target_kind == "dm" and s.target_id == "bob"]
    assert sent and WHY in sent[0].text  # bob got the whole message

    row = next(r for r in _rows(chat) if r.id == pending.id)
    assert row.status == "sent" and row.platform_message_id and row.sent_at is not None
    assert WHY not in row.body and "Data engineer" not in row.body and "marc" not in row.body
    assert row.target_id == "" and row.person_id is None  # nor who received it
    # ...but a reaction on the sent message still runs its buttons (consent yes / no).
    with session_scope(chat.app.engine) as session:
        kept = sent_message(session, row.platform, row.platform_message_id)
    assert kept is not None and kept.summary == "" and all(b.label == "" for b in kept.buttons())
    assert {b.command for b in kept.buttons()} == {b.command for b in sent[0].message.buttons() if b.command}
    assert any("consent N1 yes" in b.command for b in kept.buttons())


def test_every_delivered_row_has_its_text_dropped_and_channel_posts_keep_their_channel(chat: Chat) -> None:
    chat.ok('community create writers "Writers"', user="admin")
    chat.ok("community link writers", user="admin", channel="writers")
    chat.ok('share writers https://example.org/guide "Style guide"', user="admin")
    chat.ok("role grant @bob communicator", user="admin")
    assert chat.deliver()
    rows = _rows(chat)
    assert rows and all(r.status == "sent" for r in rows)
    for row in rows:
        assert "Style guide" not in row.body and "communicator" not in row.body
        if row.target_kind == "channel":
            assert row.target_id == "writers"  # crisis reach figures count channel posts
        else:
            assert row.target_id == "" and row.person_id is None
