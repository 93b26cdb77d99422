"""Rendering the neutral model as Matrix HTML + plain text, and reading commands out of messages."""

from __future__ import annotations

import json

from adapters.matrix.inbound import ALIAS, command_text, message_text, thread_root
from adapters.matrix.render import (
    EDIT_BYTES,
    MAX_EVENT_BYTES,
    fit,
    normalise_reaction,
    reaction_commands,
    render,
    replacement,
)
from bot.i18n import use_locale
from bot.messages import Actions, Button, Context, Field, Form, FormField, Message, Section


def _message() -> Message:
    return Message(summary="s", blocks=(
        Section(title="Crisis <C1>", text="Line one\nLine <two>", fields=(Field("Site", "Lyon & Co"),),
                lines=("a <i>", "b")),
        Context("code C1"),
        Actions((Button("Acknowledge", "crisis ack C1", reaction="✅"), Button("Status", "crisis status C1"),
                 Button("Ask", form=Form("Ask", "Send", (FormField("question", "Question"),),
                                         'crisis ask C1 {question}')),
                 Button("Nothing"))),
    ))


def test_html_is_escaped_and_structured() -> None:
    out = render(_message(), "!cercle")
    assert "<b>Crisis &lt;C1&gt;</b>" in out.html
    assert "Line one<br>Line &lt;two&gt;" in out.html
    assert "<b>Site</b>: Lyon &amp; Co" in out.html
    assert "<ul><li>a &lt;i&gt;</li><li>b</li></ul>" in out.html
    assert '<font color="#808080" data-mx-color="#808080"><sub>code C1</sub></font>' in out.html
    assert "<i>" not in out.html


def test_buttons_become_reaction_and_typing_hints() -> None:
    out = render(_message(), "!cercle")
    assert "→ React with ✅ to: Acknowledge" in out.plain
    assert "→ Type `!cercle crisis status C1` to: Status" in out.plain
    assert '→ Type `!cercle crisis ask C1 "<Question>"` to: Ask' in out.plain
    assert "Nothing" not in out.plain
    assert "<code>!cercle crisis status C1</code>" in out.html
    content = out.content()
    assert content["msgtype"] == "m.notice" and content["format"] == "org.matrix.custom.html"


def test_hints_follow_the_language() -> None:
    with use_locale("fr"):
        out = render(_message(), "!cercle")
    assert "Réagissez avec ✅ pour\u202f: Acknowledge" in out.plain
    assert "Tapez `!cercle crisis status C1` pour\u202f: Status" in out.plain


def test_reaction_keys_ignore_the_variation_selector() -> None:
    assert reaction_commands(_message()) == {"✅": "crisis ack C1"}
    assert normalise_reaction("✅\ufe0f") == "✅"
    assert normalise_reaction("1\ufe0f\u20e3") == normalise_reaction("1\u20e3")


def test_pills_become_ids_and_the_reply_fallback_is_dropped() -> None:
    content = {"format": "org.matrix.custom.html", "body": "Cercle: promote data Bob",
               "formatted_body": '<mx-reply><blockquote>old</blockquote></mx-reply>'
                                 '<a href="https://matrix.to/#/@cercle:hs">Cercle</a>: community promote data '
                                 '<a href="https://matrix.to/#/%40bob%3Ahs?via=hs">Bob</a> &amp; co'}
    assert message_text(content) == "@cercle:hs: community promote data @bob:hs & co"
    plain = {"body": "> <@x:hs> old\n> more\n\n!cercle help", "m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}}
    assert message_text(plain) == "!cercle help"


def test_commands_are_recognised_by_prefix_mention_or_direct_room() -> None:
    kw = {"prefix": "!cercle", "bot_id": "@cercle:hs", "bot_name": "Cercle"}
    assert command_text("!cercle community list", direct=False, **kw) == "community list"
    assert command_text("!CERCLE help", direct=False, **kw) == "help"
    assert command_text("!cercle", direct=False, **kw) == ""
    assert command_text("!cerclex help", direct=False, **kw) is None
    assert command_text("@cercle:hs: whoknows go", direct=False, **kw) == "whoknows go"
    assert command_text("Cercle, whoknows go", direct=False, **kw) == "whoknows go"
    assert command_text("Cercle is nice", direct=False, **kw) is None
    assert command_text("hello everyone", direct=False, **kw) is None
    assert command_text("whoknows go", direct=True, **kw) == "whoknows go"


def test_thread_and_alias_detection() -> None:
    assert thread_root({"m.relates_to": {"rel_type": "m.thread", "event_id": "$root"}}) == "$root"
    assert thread_root({"m.relates_to": {"m.in_reply_to": {"event_id": "$x"}}}) is None
    assert ALIAS.findall('crisis declare "x" --audience #ops:hs,#all:hs C#') == ["#ops:hs", "#all:hs"]


def test_huge_messages_are_shortened_to_fit_an_event() -> None:
    from adapters.matrix.render import MAX_EVENT_BYTES, fit

    huge = Message(summary="s", blocks=(Section(title="Members", lines=tuple(f"person é{i}" for i in range(9000))),))
    content = fit(render(huge, "!cercle").content())
    assert len(json.dumps(content, ensure_ascii=False).encode()) <= MAX_EVENT_BYTES
    assert content["body"].startswith("Members\n• person é0") and content["body"].endswith("…")
    small = render(Message.text("hi"), "!cercle").content()
    assert fit(small) == small


def test_an_edit_replaces_the_event_with_the_new_content_and_a_starred_fallback() -> None:
    new = render(_message(), "!cercle").content("m.text")
    new["m.mentions"] = {"user_ids": ["@ann:hs"]}
    edit = replacement(new, "$original")
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$original"}
    assert edit["m.new_content"] == new  # what clients show from now on, mentions included
    assert edit["m.mentions"] == {}  # the edit itself rings nobody again
    assert edit["msgtype"] == "m.text"
    assert edit["body"] == "* " + new["body"]
    assert edit["formatted_body"] == "* " + new["formatted_body"]
    assert edit["format"] == "org.matrix.custom.html"


def test_an_edit_of_a_long_post_stays_under_the_event_size_limit() -> None:
    long = Message(summary="s", blocks=(Section(text="word " * 20_000),))
    new = fit(render(long, "!cercle").content("m.notice"), EDIT_BYTES)
    edit = replacement(new, "$original")
    assert "formatted_body" not in edit and "formatted_body" not in edit["m.new_content"]
    assert edit["body"].startswith("* word word") and edit["body"].endswith("…")
    assert len(json.dumps(edit, ensure_ascii=False).encode()) <= MAX_EVENT_BYTES
