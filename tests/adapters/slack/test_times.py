"""Times in Slack: the moments a message shows become Slack date tokens in mrkdwn text, and stay text where
Slack shows plain text; the moments survive the outbox (JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack.rendering import render
from bot.i18n import use_locale
from bot.i18n.formats import moment
from bot.messages import Actions, Button, Context, Field, Message, Section

WHEN = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)
STAMP = int(WHEN.timestamp())


def _message() -> Message:
    shown = moment(WHEN)
    return Message(summary=f"Closes on {shown}", blocks=(
        Section(title="V1", text=f"Closes on {shown}.", fields=(Field("Closes", shown),)),
        Context(f"Until {shown}"), Actions((Button(f"Vote before {shown}"[:75], "vote V1 1"),))))


def test_moments_become_date_tokens_in_mrkdwn_only() -> None:
    with use_locale("en", zone="Europe/Paris"):
        message = _message()
    assert message.moments == (("Dec 31, 2026, 11:59\u202fPM (Paris)", STAMP),)
    rendered = render(Message.from_json(message.to_json()))  # as the outbox stores and renders it
    token = f"<!date^{STAMP}^{{date_short_pretty}} {{time}}|Dec 31, 2026, 11:59\u202fPM (Paris)>"
    section, context, actions = rendered.blocks
    assert section["text"]["text"] == f"*V1*\nCloses on {token}."
    assert section["fields"][0]["text"] == f"*Closes*\n{token}"
    assert context["elements"][0]["text"] == f"Until {token}"
    assert "<!date" not in actions["elements"][0]["text"]["text"]  # a button label is plain text
    assert rendered.text == "Closes on Dec 31, 2026, 11:59\u202fPM (Paris)"  # the notification text too


def test_in_french_the_fallback_is_french() -> None:
    with use_locale("fr", zone="America/New_York"):
        message = Message.text(f"Clôture le {moment(WHEN)}.")
    (block,) = render(message).blocks
    assert block["text"]["text"] == (f"Clôture le <!date^{STAMP}^{{date_short_pretty}} {{time}}|"
                                     "31 déc. 2026, 17:59 (New York)>.")


def test_user_text_that_looks_like_a_time_is_not_a_token_without_a_moment() -> None:
    with use_locale("en", zone="Europe/Paris"):
        message = Message.text("Dec 31, 2026, 11:59\u202fPM (Paris)")  # typed by someone, no moment shown
    assert "<!date" not in render(message).blocks[0]["text"]["text"]
