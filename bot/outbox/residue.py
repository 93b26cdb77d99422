"""What a delivered outbox row keeps: what delivery and the sent message's buttons need, no content.

Once the platform has a message, its row no longer needs the text (a nomination's argument, a nominee's
name, an answer) nor, for a direct message, who received it: a database copy would otherwise hold every
confidential message ever sent. The row keeps its ids, status, the platform's message id and the dedupe
key; of the message only its buttons' commands (and poll key), because a reaction or a poll answer on the
sent message still runs them (`sent_message`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import case

from bot.messages import Actions, Message, Poll


def residue(message: Message) -> str:
    """The body a delivered row keeps: "" or a message holding only its buttons' commands."""
    # Everything a button says about how it runs is kept (its reaction, whether it is private...); only the
    # words shown with it go.
    buttons = tuple(replace(b, label="", confirm=None, form=None) for b in message.buttons() if b.command)
    if not buttons:
        return ""
    poll = Poll(message.poll.key, "", message.poll.ends) if message.poll else None
    return Message(summary="", blocks=(Actions(buttons),), locale=message.locale, poll=poll).to_json()


def forget_recipient(table: Any) -> dict[str, Any]:
    """Update values dropping who a delivered direct message went to (a channel post keeps its channel:
    crisis reach figures count them)."""
    return {"person_id": None, "target_id": case((table.c.target_kind == "dm", ""), else_=table.c.target_id)}
