"""Plurals follow each catalog's own Plural-Forms: French says "0 vote", English "0 votes"."""

from __future__ import annotations

from bot.i18n import ngettext, translations, use_locale
from tests.support.chat import Chat


def test_the_french_catalog_header_decides_the_plural() -> None:
    french = translations("fr")
    assert [french.ngettext("{n} vote", "{n} votes", n) for n in (0, 1, 2, 1000)] == [
        "{n} vote", "{n} vote", "{n} votes", "{n} votes"]
    with use_locale("fr"):
        assert ngettext("{n} vote", "{n} votes", 0) == "0 vote"
        assert ngettext("{n} person", "{n} people", 1) == "1 personne"
        assert ngettext("{n} person", "{n} people", 2) == "2 personnes"
    with use_locale("en"):
        assert ngettext("{n} vote", "{n} votes", 0) == "0 votes"
        assert ngettext("{n} vote", "{n} votes", 1) == "1 vote"


def test_results_and_totals_agree_in_french(town: Chat) -> None:
    town.ok('consult open garden "Où ?" "Lyon" "Paris"', user="alice")
    town.ok("langue fr", user="bob")
    text = town.ok("consultation résultats V1", user="bob")
    assert "1. Lyon — 0 vote (0\u00a0%)" in text and "2. Paris — 0 vote (0\u00a0%)" in text
    assert "0 vote au total." in text
    town.ok("voter V1 2", user="bob")
    town.ok("voter V1 2", user="carol")
    text = town.ok("consultation résultats V1", user="bob")
    assert "2. Paris — 2 votes (100\u00a0%)" in text and "2 votes au total." in text
    english = town.ok("consult results V1", user="alice")
    assert "1. Lyon — 0 votes (0%)" in english and "2 votes in all." in english


def test_crisis_figures_agree_with_their_numbers_in_french(chat: Chat) -> None:
    from tests.bot.crisis.test_crisis import declare, setup_people

    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Lisez-moi."', user="dave")
    chat.deliver()
    chat.ok(f'crisis ask C{cid} "Et ensuite ?"', user="bob")
    chat.ok("langue fr", user="dave")
    status = chat.ok(f"crise état C{cid}", user="dave")
    assert "Questions\u202f: 1 posée, 0 avec réponse" in status
    assert "Canaux\u202f: 2 distribués, 0 en attente, 0 en échec." in status
    reminders = chat.ok(f"crise relancer C{cid}", user="dave")
    assert reminders.startswith("Relances\u202f: 2 envoyées maintenant, 0 en attente de la journée")
