"""Form submissions become command lines; refusals are pinned on the field they are about."""

from __future__ import annotations

from adapters.slack.forms import FormState, field_for_error, fill_command, modal_view, submitted_values
from bot.messages import Form, FormField

STATE = FormState(command="community create {slug} {name} --purpose {purpose} --topics {topics}",
                  fields=(("slug", False), ("name", False), ("purpose", True), ("topics", True)),
                  channel_id="C1", channel_name="general", direct=False)


def test_values_are_quoted_and_empty_options_dropped() -> None:
    line = fill_command(STATE, {"slug": "runners", "name": 'The "best" {club}', "purpose": "", "topics": "a, b"})
    assert line == "community create \"runners\" \"The 'best' {club}\" --topics \"a, b\""


def test_required_empty_value_stays_an_empty_argument() -> None:
    assert fill_command(STATE, {"slug": "", "name": "x"}) == 'community create "" "x"'


def test_french_templates_drop_their_french_options_too() -> None:
    state = FormState(command="communauté créer {slug} {name} --but {purpose} --thèmes {topics}",
                      fields=STATE.fields, channel_id="C1", channel_name="general", direct=False)
    line = fill_command(state, {"slug": "coureurs", "name": "Coureurs", "purpose": "", "topics": "été"})
    assert line == 'communauté créer "coureurs" "Coureurs" --thèmes "été"'


def test_errors_point_at_the_field_they_quote() -> None:
    values = {"slug": "Bad Slug", "name": "Runners"}
    assert field_for_error(STATE, values, "'Bad Slug' is not a valid community slug") == "slug"
    assert field_for_error(STATE, values, "Something else") == "slug"
    assert field_for_error(STATE, {"slug": "ok", "name": "x" * 300}, "Name 'xxxxx' too long") == "slug"


def test_errors_point_at_the_argument_the_command_named() -> None:
    values = {"slug": "runners", "name": "Runners", "topics": ","}
    assert field_for_error(STATE, values, "Give at least one item.", about="topics") == "topics"
    assert field_for_error(STATE, values, "'runners' is taken.", about="unknown") == "slug"


def test_metadata_round_trip() -> None:
    assert FormState.from_metadata(STATE.to_metadata()) == STATE


def test_picked_people_and_channels_become_mention_tokens() -> None:
    form = Form("Grant", "Grant", (FormField("who", "Person", kind="user"), FormField("where", "Channel",
                                                                                      kind="channel"),
                                   FormField("note", "Note")), "thing {who} {where} {note}")
    state = FormState(form.command, (("who", False), ("where", False), ("note", False)), "C1", "general", False,
                      picked=("who", "where"))
    view = modal_view(form, state)
    assert [b["element"]["type"] for b in view["blocks"]] == ["users_select", "conversations_select",
                                                              "plain_text_input"]
    submitted = {"state": {"values": {
        "who": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
        "where": {"value": {"type": "conversations_select", "selected_conversation": "C0NEWS"}},
        "note": {"value": {"type": "plain_text_input", "value": "<@U0EVE> typed"}}}}}
    values = submitted_values(submitted)
    assert fill_command(state, values) == 'thing <@U0BOB> <#C0NEWS> "<@U0EVE> typed"'
    forged = {"state": {"values": {"who": {"value": {"type": "users_select", "selected_user": "U1> <!channel"}}}}}
    assert submitted_values(forged) == {"who": ""}
