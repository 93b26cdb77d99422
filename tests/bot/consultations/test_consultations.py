"""Consultations: opening, voting rules, results, closing by hand and by time, the public decision."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.app import default_platforms
from bot.clock import FrozenClock
from bot.consultations.jobs import close_due
from storage.db import session_scope
from storage.tables import AuditEntry, CommunityActivity, Consultation, ConsultationOption, ConsultationVoter
from tests.support.chat import Chat


def _counts(chat: Chat, number: int) -> list[int]:
    with session_scope(chat.app.engine) as session:
        return [o.votes for o in session.exec(select(ConsultationOption)
                                              .where(ConsultationOption.consultation_id == number)
                                              .order_by(col(ConsultationOption.number)))]


def test_open_posts_question_with_a_button_per_option(town: Chat) -> None:
    reply = town.ok('consult open garden "Where do we meet?" "Lyon" "Paris" "Online" --closes 2d', user="alice")
    assert "V1" in reply
    sent = town.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("channel", "garden-room")]
    message = sent[0].message
    assert "Where do we meet?" in message.summary
    buttons = message.buttons()
    assert [b.command for b in buttons] == ["vote V1 1", "vote V1 2", "vote V1 3"]
    assert [b.reaction for b in buttons] == ["1️⃣", "2️⃣", "3️⃣"]
    assert "Closes on Jan 9, 2030, 10:00\u202fAM (Paris)" in sent[0].text


def test_vote_change_and_live_results(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    assert "counted" in town.ok("vote V1 1", user="bob")
    town.ok("voter 1 2", user="carol")  # French alias and bare number
    assert _counts(town, 1) == [1, 1]
    assert "now: 2. Paris" in town.ok("vote V1 2", user="bob")
    assert _counts(town, 1) == [0, 2]
    text = town.ok("consult results V1", user="dave")
    assert "Results so far" in text and "2. Paris — 2 votes (100%)" in text
    assert "Your vote: 2." in town.ok("consult results V1", user="bob")
    assert "already voted for option 2" in town.error("vote V1 2", user="bob")
    assert _counts(town, 1) == [0, 2]


def test_voting_rules_change_nothing(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    assert "Join 'garden' first" in town.error("vote V1 1", user="dave")
    assert "no option 3" in town.error("vote V1 3", user="bob")
    assert "There is no consultation V9" in town.error("vote V9 1", user="bob")
    assert "not a code like V3" in town.error("vote X1 1", user="bob")
    assert "not a whole number" in town.error("vote V1 one", user="bob")
    assert "Missing argument" in town.error("vote V1", user="bob")
    assert _counts(town, 1) == [0, 0]
    with session_scope(town.app.engine) as session:
        assert session.exec(select(ConsultationVoter)).all() == []


def test_open_error_paths_change_nothing(town: Chat) -> None:
    assert "Only the managers" in town.error('consult open garden "Q?" "a" "b"', user="bob")
    assert "at least 2" in town.error('consult open garden "Q?" "a"', user="alice")
    eleven = " ".join(f'"o{i}"' for i in range(11))
    assert "at most 10" in town.error(f'consult open garden "Q?" {eleven}', user="alice")
    assert "the same" in town.error('consult open garden "Q?" "Yes" "yes"', user="alice")
    assert "in the past" in town.error('consult open garden "Q?" "a" "b" --closes 2020-01-01', user="alice")
    assert "no community 'nowhere'" in town.error('consult open nowhere "Q?" "a" "b"', user="alice")
    town.ok('community create empty "Empty"', user="alice")
    assert "Link a channel" in town.error('consult open empty "Q?" "a" "b"', user="alice")
    with session_scope(town.app.engine) as session:
        assert session.exec(select(Consultation)).all() == []
    assert town.deliver() == []


def test_close_by_hand_posts_results_then_decision(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok("vote V1 2", user="bob")
    town.deliver()
    assert "Only the managers" in town.error("consult close V1", user="bob")
    assert "Close V1 first" in town.error('consult answer V1 "Paris it is"', user="alice")
    town.ok("consult close V1", user="alice")
    assert "already closed" in town.error("consult close V1", user="alice")
    assert "closed" in town.error("vote V1 1", user="carol")
    sent = town.deliver()
    assert len(sent) == 1 and "Results of V1" in sent[0].text and "2. Paris — 1 vote (100%)" in sent[0].text
    assert "Only the managers" in town.error('consult answer V1 "Paris"', user="bob")
    town.ok('consult answer V1 "We meet in Paris on the 5th."', user="alice")
    sent = town.deliver()
    assert len(sent) == 1 and sent[0].target_id == "garden-room"
    assert "alice answers: We meet in Paris on the 5th." in sent[0].text and "V1" in sent[0].text
    assert "already has a decision" in town.error('consult answer V1 "Lyon"', user="alice")
    assert "Decision: We meet in Paris" in town.ok("consult results V1", user="dave")


def test_closing_by_time_posts_results_once(town: Chat, clock: FrozenClock) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris" --closes 2h', user="alice")
    town.ok("vote V1 1", user="bob")
    town.deliver()
    ctx = town.app.job_context()
    assert close_due(ctx) == 0
    clock.advance(timedelta(hours=2, seconds=1))
    assert "closed" in town.error("vote V1 2", user="carol")  # refused as soon as the time is up
    assert close_due(ctx) == 1
    assert close_due(ctx) == 0
    sent = town.deliver()
    [posted] = [s for s in sent if s.target_kind == "channel"]
    assert "Results of V1" in posted.text and "1. Lyon — 1 vote (100%)" in posted.text
    # Its manager is told, in private, that it closed by itself and that a decision is awaited (once).
    [told] = [s for s in sent if s.target_kind == "dm"]
    assert told.target_id == "alice" and "V1 in Garden closed by itself" in told.text
    assert 'consult answer V1 "<decision>"' in told.text
    assert close_due(ctx) == 0 and town.deliver() == []


def test_closing_by_hand_tells_no_manager_in_private(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.deliver()
    town.ok("consult close V1", user="alice")
    assert [s.target_kind for s in town.deliver()] == ["channel"]


def test_hidden_results_until_closing(town: Chat) -> None:
    town.ok('consult open garden "Budget?" "More" "Less" --hidden', user="alice")
    town.ok("vote V1 1", user="bob")
    text = town.ok("consult results V1", user="alice")
    assert "shown when it closes" in text and "1 vote so far" in text and "More" not in text
    town.ok("consult close V1", user="alice")
    assert "1. More — 1 vote (100%)" in town.ok("consult results V1", user="carol")


def test_activity_is_recorded(town: Chat) -> None:
    town.ok('consult open garden "Where?" "Lyon" "Paris"', user="alice")
    town.ok("vote V1 1", user="bob")
    with session_scope(town.app.engine) as session:
        kinds = sorted(a.kind for a in session.exec(select(CommunityActivity)))
        assert kinds.count("voted") == 1 and kinds.count("consulted") == 1
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "consultation.vote")).one()


def test_french_speakers_get_french_replies_and_errors(town: Chat) -> None:
    town.ok("language fr", user="bob")
    town.ok('consulter ouvrir garden "Où se retrouver ?" "Lyon" "Paris"', user="alice")
    assert "Votre vote dans V1 est compté\u202f: 2. Paris." in town.ok("voter V1 2", user="bob")
    assert "V1 n’a pas d’option 5" in town.error("voter V1 5", user="bob")
    assert "Résultats provisoires de V1" in town.ok("consulter résultats V1", user="bob")
    assert "Seuls les animateurs de «\u202fgarden\u202f»" in town.error("consulter clore V1", user="bob")


def test_two_replicas_closing_at_once_post_results_once(postgres_engine: Engine) -> None:
    import threading

    from bot.app import build
    from bot.settings import Settings
    from tests.bot.consultations.conftest import START

    clock = FrozenClock(START)
    settings = Settings(database_url=str(postgres_engine.url.render_as_string(hide_password=False)),
                        admins=(default_platforms().parse_account("console:admin"),))
    chat = Chat(build(settings, clock=clock, migrate=False, engine=postgres_engine))
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    for i in range(3):
        chat.ok(f'consult open garden "Q{i}?" "a" "b" --closes 1h', user="alice")
    chat.deliver()
    clock.advance(timedelta(hours=1, seconds=1))
    barrier = threading.Barrier(2)
    closed: list[int] = []

    def replica() -> None:
        barrier.wait()
        closed.append(close_due(chat.app.job_context()))

    threads = [threading.Thread(target=replica) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(closed) == 3
    sent = chat.deliver()
    posts = [s for s in sent if s.target_kind == "channel"]
    assert sorted(s.text.splitlines()[0] for s in posts) == [f"Results of V{n} in Garden: Q{n - 1}?" for n in (1, 2, 3)]
    assert sorted(s.text.split(" closed by itself")[0] for s in sent if s.target_kind == "dm") == [
        f"The consultation V{n} in Garden" for n in (1, 2, 3)]  # alice told once per consultation
