"""French is complete: options and their values in French, with or without accents; refusals list
values in the reader's language. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.referrals import service as referrals
from storage.db import session_scope
from storage.tables import Consultation, Idea, Nomination
from tests.bot.referrals.helpers import nominate, open_position, setup_hr
from tests.support.chat import Chat
from tests.support.snapshot import snapshot


def test_french_option_names_with_and_without_accents(chat: Chat) -> None:
    chat.ok("langue fr", user="alice")
    chat.ok('communauté créer jardin "Jardin" --but "Cultiver ensemble" --thèmes plantes,Python', user="alice")
    chat.ok('communauté créer potager "Potager" --objectif "Légumes" --THEMES legumes', user="alice")
    info = chat.ok("communauté info jardin", user="alice")
    assert "Cultiver ensemble" in info and "plantes, python" in info
    assert "legumes" in chat.ok("communauté info potager", user="alice")
    assert "jardin" in chat.ok("communauté liste --thème plantes", user="alice")
    assert "jardin" in chat.ok("communauté liste --theme plantes", user="alice")
    assert "jardin" in chat.ok("community list --topic plantes", user="alice")


def test_an_option_given_in_two_languages_is_given_twice(chat: Chat) -> None:
    before = snapshot(chat.app.engine)
    error = chat.error('community create jardin "Jardin" --topics a --thèmes b', user="alice")
    assert "--thèmes" in error and "twice" in error
    assert snapshot(chat.app.engine) == before


def test_consultation_options_and_idea_statuses_in_french(town: Chat) -> None:
    town.ok("langue fr", user="alice")
    town.ok('consultation ouvrir garden "Où ?" "Lyon" "Paris" --clôture 2j --anonyme --masqué', user="alice")
    town.ok('consultation ouvrir garden "Quand ?" "Lundi" "Mardi" --cloture 2026-12-20', user="alice")
    town.ok('consultation ouvrir garden "Qui ?" "Moi" "Toi" --ferme 3j', user="alice")
    with session_scope(town.app.engine) as session:
        rows = {c.question: c for c in session.exec(select(Consultation))}
        assert rows["Où ?"].anonymous and rows["Où ?"].hidden
        assert rows["Où ?"].closes_at is not None
        assert abs(rows["Où ?"].closes_at - (datetime(2026, 11, 23, 9, 0, tzinfo=UTC) + timedelta(days=2))) \
            < timedelta(minutes=1)
        assert not rows["Quand ?"].anonymous and rows["Qui ?"].closes_at is not None
    town.ok('idée garden "Plus de thé"', user="bob")
    town.ok('idée garden "Moins de café"', user="bob")
    town.ok('idée répondre I1 "Oui, en mars." --statut refusée', user="alice")
    town.ok('idée répondre I2 "On regarde." --statut etude', user="alice")
    with session_scope(town.app.engine) as session:
        assert {i.id: i.status for i in session.exec(select(Idea))} == {1: "declined", 2: "under-study"}
    error = town.error('idée répondre I1 "Non." --statut peut-être', user="alice")
    assert "acceptée, étude, refusée" in error
    english = town.error('idea answer I1 "No." --status maybe', user="bob")
    assert "accepted, under-study, declined" in english


def test_nomination_states_in_french_and_refusals_in_the_readers_language(chat: Chat) -> None:
    setup_hr(chat)
    setup_hr(chat, "henry")
    open_position(chat)
    nominate(chat)
    chat.ok("nomination consent N1 oui", user="bob", direct=True)
    chat.ok("langue fr", user="hannah", direct=True)
    before = snapshot(chat.app.engine)
    error = chat.error("candidature passer N1 promue", user="hannah", direct=True)
    assert "n’est pas un état de cooptation" in error
    assert "examen, entretien, offre, embauchée, refusée" in error
    error = chat.error("candidature passer N1 entretien", user="hannah", direct=True)
    assert "elle peut passer à\u202f: examen, refusée." in error and "under_review" not in error
    assert snapshot(chat.app.engine) == before
    chat.ok("candidature passer N1 examen", user="hannah", direct=True)
    chat.ok("candidature passer N1 entretien --partager", user="hannah", direct=True)
    assert "it can move to: offered, rejected." in chat.error("nomination move N1 hired", user="henry", direct=True)
    chat.ok("candidature passer N1 REFUSEE", user="hannah", direct=True)
    with session_scope(chat.app.engine) as session:
        assert session.exec(select(Nomination)).one().state == referrals.REJECTED


def test_roles_in_french(chat: Chat) -> None:
    chat.ok("langue fr", user="admin")
    assert "hannah a maintenant le rôle rh" in chat.ok("rôle donner @hannah rh", user="admin")
    assert "olga a maintenant le rôle communicant" in chat.ok("rôle donner @olga Communicant", user="admin")
    listed = chat.ok("rôle liste", user="admin")
    assert "rh\u202f: hannah" in listed and "communicant\u202f: olga" in listed
    chat.ok("langue fr", user="zoe")
    refused = chat.error("poste ouvrir \"Chef\" --site Lyon", user="zoe", direct=True)
    assert "Seules les personnes des RH peuvent faire cela." in refused
