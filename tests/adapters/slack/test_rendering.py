"""Block Kit rendering of the neutral model, within Slack's limits."""

from __future__ import annotations

import json

from adapters.slack.forms import decode_form
from adapters.slack.rendering import render
from bot.messages import Actions, Button, Confirm, Context, Field, Form, FormField, Message, Section


def test_section_title_text_fields_and_lines() -> None:
    message = Message(summary="Writers", blocks=(
        Section(title="Writers (writers)", text="Write together", fields=(Field("Members", "3"),),
                lines=("one", "two")),
        Context("community info <slug> for details.")))
    rendered = render(message)
    section, context = rendered.blocks
    assert section["text"]["text"] == "*Writers (writers)*\nWrite together\n• one\n• two"
    assert section["fields"] == [{"type": "mrkdwn", "text": "*Members*\n3", "verbatim": True}]
    assert context["elements"][0]["text"] == "community info &lt;slug&gt; for details."
    assert rendered.text == "Writers"


def test_buttons_have_unique_action_ids_values_styles_and_confirmations() -> None:
    confirm = Confirm("Archive x?", "Read-only for everyone.", "Archive", "Cancel")
    message = Message(summary="s", blocks=(
        Actions((Button("Join", "community join x", style="primary"), Button("Archive", "community archive x",
                                                                            style="danger", confirm=confirm))),
        Actions((Button("Leave", "community leave x"),))))
    elements = [e for b in render(message).blocks for e in b["elements"]]
    assert [e["action_id"] for e in elements] == ["cercle:cmd:1", "cercle:cmd:2", "cercle:cmd:3"]
    assert [e["value"] for e in elements] == ["community join x", "community archive x", "community leave x"]
    assert [e.get("style") for e in elements] == ["primary", "danger", None]
    assert elements[1]["confirm"]["title"] == {"type": "plain_text", "text": "Archive x?", "emoji": True}
    assert elements[1]["confirm"]["deny"]["text"] == "Cancel"


def test_form_buttons_carry_their_form_even_when_long() -> None:
    fields = tuple(FormField(f"f{i}", f"A rather long label for field number {i}", placeholder="x" * 100)
                   for i in range(12))
    form = Form("New thing", "Create", fields, "thing create " + " ".join("{f" + str(i) + "}" for i in range(12)))
    (actions,) = render(Message(summary="s", blocks=(Actions((Button("Open", form=form),)),))).blocks
    element = actions["elements"][0]
    assert element["action_id"] == "cercle:form:1"
    assert len(element["value"]) <= 2000
    assert decode_form(element["value"]) == form


def test_limits_are_respected() -> None:
    long_line = "word " * 1000
    message = Message(summary="x" * 5000, blocks=(
        Section(title="t" * 1000, text=long_line, lines=tuple(f"line {i} " + "y" * 200 for i in range(60)),
                fields=tuple(Field(f"label {i}", "v" * 3000) for i in range(23))),
        Actions(tuple(Button(f"b{i}", f"help {i}") for i in range(30))),
        *(Context(f"context {i}") for i in range(60))))
    rendered = render(message)
    blocks = rendered.blocks
    assert len(blocks) == 50
    assert blocks[-1]["type"] == "context" and "Shortened" in blocks[-1]["elements"][0]["text"]
    assert len(rendered.text) <= 3000
    for block in blocks:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
        assert len(block.get("fields", [])) <= 10
        assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
    text_of_lines = "".join(b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b)
    assert all(f"line {i} " in text_of_lines for i in range(60))  # split over sections, none lost
    fields = [f for b in blocks for f in b.get("fields", [])]
    assert len(fields) == 23
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 30
    assert json.dumps(blocks)  # serialisable as sent


def test_message_without_blocks_still_has_text() -> None:
    rendered = render(Message(summary="Hello <you>"))
    assert rendered.blocks == [] and rendered.text == "Hello &lt;you&gt;"
