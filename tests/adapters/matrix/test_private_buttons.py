"""A private button (an anonymous vote, a nomination) on Matrix: typed in the direct room, never a reaction."""

from __future__ import annotations

from adapters.matrix.render import reaction_commands, render
from bot.i18n import use_locale
from bot.messages import Actions, Button, Form, FormField, Message


def _message() -> Message:
    return Message(summary="s", blocks=(Actions((
        Button("1. Yes", "vote V1 1", reaction="1️⃣", private=True),
        Button("Nominate someone", private=True,
               form=Form("Nominate", "Nominate", (FormField("person", "Who?"),), "nominate P1 {person}")),
        Button("Acknowledge", "crisis ack C1", reaction="✅"))),))


def test_a_private_button_says_to_type_it_in_the_direct_room_and_is_no_reaction() -> None:
    with use_locale("en"):
        out = render(_message(), "!cercle")
    assert "In your direct room with Cercle (not here), type `!cercle vote V1 1` to: 1. Yes" in out.plain
    assert "In your direct room with Cercle (not here), type `!cercle nominate P1 \"<Who?>\"` to: Nominate" \
        in out.plain
    assert "<code>!cercle vote V1 1</code>" in out.html and "React with 1️⃣" not in out.plain
    assert "React with ✅ to: Acknowledge" in out.plain  # a button that is no secret keeps its reaction
    assert reaction_commands(_message()) == {"✅": "crisis ack C1"}
    with use_locale("fr"):
        assert "Dans votre salon direct avec Cercle (pas ici), tapez `!cercle vote V1 1`" in render(_message(),
                                                                                                    "!cercle").plain


def test_a_private_button_keeps_its_mark_through_the_outbox() -> None:
    message = _message()
    assert Message.from_json(message.to_json()).buttons() == message.buttons()
