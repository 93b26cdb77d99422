"""Declared forms as Block Kit: each kind of input its element, within Slack's limits, and a submission's
state read back as values the grammar reads (picked people and channels as mentions, nothing else)."""

from __future__ import annotations

from adapters.slack.command_forms import CALLBACK_ID, Opened, modal, read_values
from bot.forms import Prepared, Shown


def _modal(*fields: Shown) -> dict:
    return modal(Prepared("consult open", "A title longer than Slack allows", "Go", "Cancel", fields, "en"),
                 Opened("consult open", "C1", "general"))


def test_each_kind_of_input_has_its_element() -> None:
    many = tuple((f"c{n}", f"Community {n}") for n in range(101))
    view = _modal(Shown("text", "Text", "text", False, initial="x" * 4000), Shown("long", "Long", "long", True),
                  Shown("user", "User", "user", False), Shown("users", "Users", "users", True),
                  Shown("channels", "Channels", "channels", True), Shown("date", "Date", "date", True,
                                                                        initial="2026-12-01"),
                  Shown("choice", "Choice", "choice", False, (("a", "A"), ("b", "B" * 90)), initial="b"),
                  Shown("choices", "Choices", "choices", True, (("a", "A"),)),
                  Shown("flags", "Flags", "flags", True, (("anonymous", "Anonymous"),), hint="Say why"),
                  Shown("many", "Many", "choice", False, many), Shown("none", "None", "choice", False))
    assert view["callback_id"] == CALLBACK_ID and len(view["title"]["text"]) <= 24
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert {k: e["type"] for k, e in elements.items()} == {
        "text": "plain_text_input", "long": "plain_text_input", "user": "users_select",
        "users": "multi_users_select", "channels": "multi_conversations_select", "date": "datepicker",
        "choice": "static_select", "choices": "multi_static_select", "flags": "checkboxes",
        "many": "plain_text_input", "none": "plain_text_input"}
    assert all(e["action_id"] == "value" for e in elements.values())
    assert len(elements["text"]["initial_value"]) == 3000 and elements["long"]["multiline"] is True
    assert elements["date"]["initial_date"] == "2026-12-01"
    assert elements["choice"]["initial_option"]["value"] == "b"
    assert len(elements["choice"]["options"][1]["text"]["text"]) <= 75
    (flags,) = [b for b in view["blocks"] if b["block_id"] == "flags"]
    assert flags["hint"]["text"] == "Say why" and flags["optional"] is True
    assert Opened.from_metadata(view["private_metadata"]) == Opened("consult open", "C1", "general")


def test_a_submission_gives_values_the_grammar_reads() -> None:
    view = {"state": {"values": {
        "user": {"value": {"type": "users_select", "selected_user": "U123"}},
        "users": {"value": {"type": "multi_users_select", "selected_users": ["U1", "<@U2>", "bad id"]}},
        "channels": {"value": {"type": "multi_conversations_select", "selected_conversations": ["C1", "G2", "x>"]}},
        "choice": {"value": {"type": "static_select", "selected_option": {"value": "cafe"}}},
        "empty": {"value": {"type": "static_select", "selected_option": None}},
        "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "anonymous"}]}},
        "date": {"value": {"type": "datepicker", "selected_date": "2026-12-01"}},
        "text": {"value": {"type": "plain_text_input", "value": "Hello"}}}}}
    assert read_values(view) == {"user": ["<@U123>"], "users": ["<@U1>"], "channels": ["<#C1>", "<#G2>"],
                                 "choice": ["cafe"], "empty": [], "flags": ["anonymous"], "date": ["2026-12-01"],
                                 "text": ["Hello"]}
