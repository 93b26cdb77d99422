"""Native polls and notification metadata as Matrix events: what Element sends and reads (MSC3381)."""

from __future__ import annotations

from adapters.matrix import polls
from adapters.matrix.sender import mentions
from bot.messages import Actions, Button, Message, Poll, Ring, Section


def _message() -> Message:
    return Message(summary="Lunch?", blocks=(Section(title="Lunch?"), Actions((
        Button("1. Pizza", "vote V1 1"), Button("Help", form=None), Button("2. Sushi", "vote V1 2")))),
        poll=Poll("consultation:1", "Lunch?"))


def test_a_poll_start_has_one_answer_per_command_button_and_a_text_fallback() -> None:
    message = _message()
    assert message.poll is not None
    content = polls.start_content(message, message.poll, "Lunch?\n1. Pizza\n2. Sushi")
    start = content["org.matrix.msc3381.poll.start"]
    assert start["answers"] == [{"id": "1", "org.matrix.msc1767.text": "1. Pizza"},
                                {"id": "2", "org.matrix.msc1767.text": "2. Sushi"}]
    assert start["max_selections"] == 1 and start["kind"] == "org.matrix.msc3381.poll.disclosed"
    assert content["org.matrix.msc1767.text"] == content["body"] == "Lunch?\n1. Pizza\n2. Sushi"
    assert polls.answer_commands(message) == {"1": "vote V1 1", "2": "vote V1 2"}
    end = polls.end_content("$start", "Results")
    assert end["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    assert "org.matrix.msc3381.poll.end" in end


def test_responses_are_read_in_both_forms_and_anything_else_is_ignored() -> None:
    ref = {"rel_type": "m.reference", "event_id": "$poll"}
    unstable = {"m.relates_to": ref, "org.matrix.msc3381.poll.response": {"answers": ["2"]}}
    assert polls.response("org.matrix.msc3381.poll.response", unstable) == ("$poll", ["2"])
    assert polls.response("m.poll.response", {"m.relates_to": ref, "m.selections": ["1"]}) == ("$poll", ["1"])
    assert polls.response("m.poll.response", {"m.relates_to": ref, "m.selections": []}) == ("$poll", [])
    for event_type, content in (
            ("m.room.message", {"m.relates_to": ref, "m.selections": ["1"]}),
            ("m.poll.response", {"m.selections": ["1"]}),
            ("m.poll.response", {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$p"},
                                 "m.selections": ["1"]}),
            ("m.poll.response", {"m.relates_to": ref, "m.selections": "1"}),
            ("org.matrix.msc3381.poll.response", {"m.relates_to": ref, "org.matrix.msc3381.poll.response": "x"})):
        assert polls.response(event_type, content) is None


def test_mentions_are_always_explicit() -> None:
    assert mentions(Ring.QUIET, None) == {}
    assert mentions(Ring.PEOPLE, "@bob:hs") == {"user_ids": ["@bob:hs"]}
    assert mentions(Ring.EVERYONE, "@bob:hs") == {"room": True}


def test_ring_and_poll_travel_through_the_outbox() -> None:
    message = _message().rings(Ring.EVERYONE)
    again = Message.from_json(message.to_json())
    assert again.ring == Ring.EVERYONE and again.poll == Poll("consultation:1", "Lunch?")
    plain = Message.from_json(Message.text("hi").to_json())
    assert plain.ring == Ring.QUIET and plain.poll is None and '"ring"' not in Message.text("hi").to_json()
