"""Buttons, forms and hints give the command in the reader's language, and the French one does exactly
what the English one does (same command, same arguments)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.console.platform import WORKSPACE as CONSOLE_WORKSPACE
from bot.app import default_capabilities, default_platforms
from bot.capability import assemble
from bot.commands.grammar import tokenize
from bot.commands.registry import ConvertEnv
from bot.communities.commands import archive_button, create_button
from bot.consultations import messaging as consultations
from bot.crisis import messaging as crisis
from bot.i18n import use_locale
from bot.i18n.vocabulary import Vocabulary, registry_view
from bot.messages import Actions, Button, Message
from bot.referrals import messaging as referrals
from bot.referrals.messaging import PositionInfo
from storage.tables import Community, Consultation, ConsultationOption, Crisis, CrisisAnnouncement, Idea
from tests.support.chat import Chat

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ENV = ConvertEnv(default_platforms()["console"], CONSOLE_WORKSPACE, NOW, "Europe/Paris")
GARDEN = Community(id=1, slug="garden", name="Garden", purpose="Grow things")
POSITION = PositionInfo(id=3, title="Data engineer", site="Lyon", team="Platform", description="",
                        skills=("python",), closes_at=None)
CONSULTATION = Consultation(id=2, community_id=1, question="Where?", closes_at=datetime(2026, 12, 1, tzinfo=UTC))
OPTIONS = [ConsultationOption(consultation_id=2, number=1, label="Lyon"),
           ConsultationOption(consultation_id=2, number=2, label="Paris")]
CRISIS = Crisis(id=5, title="Site closure")
ANNOUNCEMENT = CrisisAnnouncement(crisis_id=5, number=1, text="Read me.", author_id=1)
SAMPLE_FIELDS = {"person": "@bob", "slug": "garden", "name": '"Garden"', "purpose": '"Grow"', "topics": "a,b",
                 "question": '"Why?"', "why": '"Because she knows Kafka."'}

BUILDERS: dict[str, Callable[[], Message]] = {
    "consultation posted": lambda: consultations.opened(CONSULTATION, GARDEN, OPTIONS, "alice"),
    "idea posted": lambda: consultations.idea_proposed(Idea(id=4, community_id=1, text="Tea"), GARDEN, "bob"),
    "crisis announcement": lambda: crisis.announcement(CRISIS, ANNOUNCEMENT, "dave"),
    "crisis reminder": lambda: crisis.reminder(CRISIS, ANNOUNCEMENT),
    "position announcement": lambda: referrals.announcement(POSITION),
    "consent request": lambda: referrals.consent_request("N7", POSITION, "alice", "She knows Kafka well."),
    "hr told of consent": lambda: referrals.hr_consented("N7", POSITION, "bob"),
    "community buttons": lambda: Message("c", (Actions((create_button(), archive_button("garden"))),)),
}
VIEW = registry_view(assemble(default_capabilities()).registry)


def commands_of(message: Message) -> list[str]:
    return [_command(button) for button in message.buttons()]


def _command(button: Button) -> str:
    if button.form is not None:
        return button.form.command.format(**{f.name: SAMPLE_FIELDS[f.name] for f in button.form.fields})
    return button.command


def bound(line: str) -> tuple[str, dict[str, Any]]:
    tokens = tokenize(line)
    words = [t.text for t in tokens[:3] if not t.quoted and not t.is_option]
    cmd, used = VIEW.lookup(words)
    assert cmd is not None, f"{line!r} names no command"
    return cmd.name, cmd.bind(tokens[used:], ENV)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_french_buttons_run_the_same_command_as_english_ones(name: str) -> None:
    vocabulary = Vocabulary.of(VIEW, "fr")
    with use_locale("en"):
        english = commands_of(BUILDERS[name]())
    with use_locale("fr"):
        french = commands_of(BUILDERS[name]())
    assert len(french) == len(english)
    for en, fr in zip(english, french, strict=True):
        assert vocabulary.english_in(fr) == [], fr
        assert bound(fr) == bound(en), (en, fr)


def test_move_and_consent_commands_are_typed_in_french() -> None:
    with use_locale("fr"):
        assert referrals.move_command("N7", "interview") == "candidature passer N7 entretien"
        assert referrals.move_command("N7", "rejected") == "candidature passer N7 refusée"
        assert [b.command for b in referrals.consent_buttons("N7")] == [
            "candidature consentir N7 oui", "candidature consentir N7 non"]
    assert bound("candidature passer N7 entretien") == bound("nomination move N7 interview")
    assert bound("candidature passer N7 refusee") == bound("nomination move N7 rejected")


def test_french_hints_and_buttons_in_a_conversation(chat: Chat) -> None:
    chat.ok('community create garden "Garden"', user="alice")
    chat.ok("community link garden", user="alice", channel="garden-room")
    chat.ok("langue fr", user="bob")
    info = chat.ok("communauté info garden", user="bob")
    assert "[Rejoindre] → communauté rejoindre garden" in info
    assert "Bienvenue dans Garden" in chat.ok("communauté rejoindre garden", user="bob")
    reply = chat.ok('idée garden "Plus de thé"', user="bob")
    assert "Les membres peuvent la soutenir avec idée soutenir I1." in reply
    assert "soutenir avec idea upvote" not in reply
    chat.deliver()
    assert "Vous soutenez I1" in chat.ok("idée soutenir I1", user="alice", locale="fr")
