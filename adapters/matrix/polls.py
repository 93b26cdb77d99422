"""Native Matrix polls (MSC3381) for votes that may be public: the start, the answers, the end.

Cercle sends the unstable event types Element sends (`org.matrix.msc3381.poll.*`, with MSC1767 text
fallbacks) and reads both the unstable and the stable (`m.poll.*`) responses. Each answer's id is its
button's position; the command of each answer is kept for the poll's event, so a response runs the same
command a typed vote would, as the person who answered (a changed answer runs the new one).
"""

from __future__ import annotations

from typing import Any

from bot.messages import Message, Poll

START = "org.matrix.msc3381.poll.start"
END = "org.matrix.msc3381.poll.end"
RESPONSES = ("org.matrix.msc3381.poll.response", "m.poll.response")
TEXT = "org.matrix.msc1767.text"
DISCLOSED = "org.matrix.msc3381.poll.disclosed"


def answer_commands(message: Message) -> dict[str, str]:
    """Answer id -> the command it runs (the message's buttons that run a command, in order)."""
    return {str(i): b.command for i, b in enumerate((b for b in message.buttons() if b.command), start=1)}


def start_content(message: Message, poll: Poll, fallback: str) -> dict[str, Any]:
    """An `m.poll.start` (unstable type) with one answer per button; clients without polls show `fallback`."""
    buttons = [b for b in message.buttons() if b.command]
    answers = [{"id": str(i), TEXT: b.label} for i, b in enumerate(buttons, start=1)]
    return {START: {"kind": DISCLOSED, "max_selections": 1, "question": {TEXT: poll.question, "body": poll.question},
                    "answers": answers},
            TEXT: fallback, "body": fallback}


def end_content(start_event_id: str, fallback: str) -> dict[str, Any]:
    """Ends the poll started by `start_event_id` (clients then show its final state)."""
    return {"m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id}, END: {}, TEXT: fallback,
            "body": fallback}


def response(event_type: str, content: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(the poll's start event id, the chosen answer ids) of a poll response, stable or unstable; None when
    it is not one (or is malformed)."""
    if event_type not in RESPONSES:
        return None
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict) or relates.get("rel_type") != "m.reference" or not relates.get("event_id"):
        return None
    if event_type == RESPONSES[0]:
        body = content.get(RESPONSES[0])
        answers = body.get("answers") if isinstance(body, dict) else None
    else:
        answers = content.get("m.selections")
    if not isinstance(answers, list):
        return None
    return str(relates["event_id"]), [str(a) for a in answers if isinstance(a, (str, int))]
