"""English and French are complete; every French message, rendered, speaks French commands with French
typography; help speaks both; the checks behind `python -m bot.i18n.tool check` catch what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Message as PoMessage
from babel.messages.pofile import read_po

from bot.app import default_capabilities
from bot.capability import assemble
from bot.commands.registry import Arg, Command, Opt, Registry, choice_type
from bot.i18n import LOCALES_DIR, _, catalog, checks, tool, typography, use_locale
from bot.i18n.vocabulary import RegistryView, Vocabulary, registry_view
from bot.messages import Reply
from tests.support.chat import Chat


@pytest.fixture(scope="module")
def view() -> RegistryView:
    """The commands of the default assembly, as `python -m bot.i18n.tool` checks them."""
    return registry_view(assemble(default_capabilities()).registry)


@pytest.fixture(scope="module")
def french(view: RegistryView) -> Vocabulary:
    return Vocabulary.of(view, "fr")


def french_messages() -> list[tuple[str, PoMessage]]:
    found = []
    for po in sorted((LOCALES_DIR / "fr" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            found += [(po.stem, m) for m in read_po(handle, locale="fr") if m.id]
    return found


def test_every_string_has_a_french_translation_and_the_tool_finds_nothing(view: RegistryView) -> None:
    assert tool.problems(view) == []


def test_every_french_message_rendered_has_french_commands_and_typography(french: Vocabulary) -> None:
    """Each message with sample values in its placeholders (each plural form with a number that selects
    it): no English command word, option or value; a no-break space before : ; ? ! and inside « »."""
    messages = french_messages()
    assert len(messages) > 500
    wrong = []
    for domain, message in messages:
        for _english, text in checks.rendered(message):
            wrong += [(domain, text, w) for w in french.english_in(text)]
            wrong += [(domain, text, p) for p in typography.problems(text, "fr")]
    assert wrong == []


def test_english_sources_use_english_quotes() -> None:
    wrong = [(m.id, p) for _d, m in french_messages() for english, _t in checks.rendered(m)
             for p in typography.problems(english, "en")]
    assert wrong == []


def test_the_english_words_come_from_the_registry() -> None:
    """A command added tomorrow is checked at once: its words and options, and its values once translated
    (a value typed the same in French, like `admin`, is French too; an untranslated one is reported by the
    tool as untranslated)."""
    registry = Registry()
    size = choice_type("tiny", "huge", kind="widget size")
    registry.add(Command(("frobnicate", "widget"), lambda ctx, **kw: Reply.private("ok"), "frobnicate widget",
                         "Frobnicate.", (Arg("size", size),), (Opt("colour", aliases=("couleur",)),)))
    view = RegistryView(tuple(registry.commands.values()), registry.lookup, dict(registry.aliases))
    vocabulary = Vocabulary.of(view, "fr")
    assert vocabulary.english_in("Tapez frobnicate widget huge --colour bleu") == [
        "frobnicate", "widget", "--colour"]
    assert size.choices == ("tiny", "huge")
    assert vocabulary.english_in("Tapez --couleur bleu") == []


def test_registry_checks_find_clashes_and_wrong_usages() -> None:
    registry = Registry()
    registry.alias("Widgét", "gadget")
    registry.add(Command(("frobnicate", "widget"), lambda ctx, **kw: Reply.private("ok"),
                         "frobnicate gadget [--colour c] [--size s]", "Frobnicate.", (),
                         (Opt("colour", aliases=("thèmes",)), Opt("themes"))))
    view = RegistryView(tuple(registry.commands.values()), registry.lookup, dict(registry.aliases))
    assert checks.registry_problems(view, ()) == [
        "'frobnicate widget' has two options named --themes",
        "the command word 'widget' is also an alias of 'gadget'",
        "en: the usage of 'frobnicate widget' does not start with its command words: "
        "'frobnicate gadget [--colour c] [--size s]'",
        "en: the usage of 'frobnicate widget' shows an option it does not accept: --size",
    ]


def test_shared_words_are_flagged_only_where_they_name_a_command(french: Vocabulary) -> None:
    assert french.english_in("Votre vote dans V3 est compté.") == []
    assert french.english_in("Votez avec vote V3 2.") == ["vote V3"]
    assert french.english_in("Votez avec voter V3 2. La consultation est close.") == []
    assert french.english_in("Fermez-la avec consultation close V3.") == ["consultation close"]
    assert french.english_in("La consultation V3 est close.") == []
    assert french.english_in("Voir nomination show N3.") == ["show", "nomination show"]


def _message(english: str, french: str) -> PoMessage:
    return PoMessage(english, french)


@pytest.mark.parametrize(("english", "translated", "problem"), [
    ("Upvote with idea upvote I{n}.", "Soutenez-la avec idea upvote I{n}.", "'idea'"),
    ("Join: community join {slug}", "Rejoindre\u202f: communauté join {slug}", "'join'"),
    ("Skills: {skills}", "Compétences: {skills}", "no space before ':'"),
    ("Skills: {skills}", "Compétences : {skills}", "a plain space before ':'"),
    ("Really?", "Vraiment ?", "a plain space before '?'"),
    ("No community '{slug}'.", "Pas de communauté « {slug} ».", "no no-break space after «"),
    ("Crisis “{title}”", "Crise “{title}”", "“ ” quotes in French"),
    ("Crisis «{title}»", "Crise «\u202f{title}\u202f»", "English: « » quotes in English"),
    ("Upvote with idea upvote I{n}.", "Soutenez-la avec idée souten I{n}.",
     "does not name the command 'idea upvote'"),
    ("community create {slug} --topics {t}", "communauté créer {slug} --sujets {t}", "has no option --sujets"),
    ("Vote with vote V{n} <number>.", "Votez avec vote V{n} <numéro>.", "'vote V1'"),
    ("Give --closes 2d.", "Donnez --closes 2j.", "'--closes'"),
    ("States: interview", "États\u202f: interview", "'interview'"),
])
def test_the_checks_catch_english_words_and_typography(french: Vocabulary, english: str, translated: str,
                                                       problem: str) -> None:
    found = checks.message_problems(_message(english, translated), "fr", french)
    assert any(problem in p for p in found), found


def test_good_french_passes_the_checks(french: Vocabulary) -> None:
    good = _message("Upvote with idea upvote I{n}: {title}?",
                    "Soutenez-la avec idée soutenir I{n}\u202f: «\u202f{title}\u202f»\u00a0?")
    assert checks.message_problems(good, "fr", french) == []


def test_translated_strings_inside_f_strings_are_reported(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text('def f(n):\n    return f"x {ngettext(\'{n} a\', \'{n} b\', n)}"\n')
    assert checks.fstring_problems(tmp_path, ("pkg",)) == [
        "pkg/mod.py:2: ngettext() inside an f-string is not extracted; call it outside the f-string"]


def test_french_catalog_is_loaded() -> None:
    assert catalog("fr")
    with use_locale("fr"):
        assert _("Cercle commands, by topic") == "Commandes de Cercle, par sujet"
    with use_locale("en"):
        assert _("Cercle commands, by topic") == "Cercle commands, by topic"


def test_help_is_a_short_list_of_topics_and_each_topic_lists_its_commands(chat: Chat, french: Vocabulary) -> None:
    """`help` fits on a screen (one line per topic); `help <topic>` gives each command's usage and summary, in
    English and in French, with the topic's French word."""
    registry = chat.app.assembly.registry
    english = chat.ok("help", user="alice")
    chat.ok("language fr", user="bob")
    french_help = chat.ok("aide", user="bob")
    for text in (english, french_help):
        assert len(text.splitlines()) <= len(registry.groups) + 3
    assert "Commandes de Cercle, par sujet" in french_help and "Cercle commands, by topic" in english
    assert "aide communauté\u202f: créer, liste" in french_help and french.english_in(french_help) == []
    shown = 0
    for group_id in registry.groups:
        assert f"help {group_id}:" in english
        in_english = chat.ok(f"help {group_id}", user="alice")
        french_word = next(alias for alias, canonical in registry.aliases.items() if canonical == group_id)
        in_french = chat.ok(f"aide {french_word}", user="bob")
        for cmd in (c for c in registry.commands.values() if c.group == group_id):
            shown += 1
            assert cmd.usage in in_english and cmd.summary in in_english, cmd.name
            with use_locale("fr"):
                assert _(cmd.usage) in in_french and _(cmd.summary) in in_french, cmd.name
    assert shown == len(registry.commands)  # every command is in a topic


@pytest.mark.parametrize(("topic", "shown"), [
    ("consultation", "consultation ouvrir <identifiant> \"<question>\" \"<option>\" \"<option>\"... "
                     "[--clôture <2j|2026-12-01>] [--anonyme] [--masqué]"),
    ("idée répondre", "idée répondre <code I> \"<texte>\" [--statut acceptée|étude|refusée]"),
    ("synthèse", "synthèse planifier <identifiant> [\"<cron>\"|arrêt] [--fuseau Europe/Paris]"),
    ("voter", "voter <code V> <numéro d’option>"),
])
def test_help_for_consultations_ideas_and_digests_speaks_french(chat: Chat, french: Vocabulary, topic: str,
                                                                 shown: str) -> None:
    chat.ok("langue fr", user="bob")
    text = chat.ok(f"aide {topic}", user="bob")
    assert shown in text
    assert french.english_in(text) == []


def test_help_on_one_command_and_unknown_one(chat: Chat) -> None:
    assert "Join a community." in chat.ok("help community join")
    assert "Also: communaute, communauté" in chat.ok("help community")
    assert "There is no topic or command 'frobnicate'" in chat.error("help frobnicate")
