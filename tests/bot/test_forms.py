"""Forms declared next to commands: every declaration fills real arguments, a submission becomes the
command's own line (nothing typed can add an option), and a refusal names the input it is about."""

from __future__ import annotations

import pytest

from bot.app import Application
from bot.commands.registry import TEXT, Arg, command
from bot.events import Actor
from bot.forms import FORMS_ATTRIBUTE, FormSpec, Input, command_line, find, form, input_for_refusal, prepare
from bot.i18n import N_
from bot.messages import Reply

SPEC = FormSpec("consult open", "Open", "Open", (
    Input("slug", "Community", "choice"), Input("question", "Question", "long"),
    Input("options", "Option {n}", repeat=3, at_least=2),
    Input("closes", "Closes", "date", option="closes", optional=True),
    Input("audience", "Communities", "choices", option="audience", optional=True),
    Input("audience-channels", "Channels", "channels", option="audience", optional=True),
    Input("flags", "Votes", "flags", optional=True, choices=(("anonymous", "Anonymous"), ("hidden", "Hidden")))))


def test_a_submission_becomes_the_commands_own_line() -> None:
    line = command_line(SPEC, {"slug": ["cafe"], "question": ["Which\ncoffee?"], "options-1": ["Arabica"],
                               "options-2": ["  "], "options-3": ["Robusta"], "closes": ["2026-12-01"],
                               "audience": ["ops", "all"], "audience-channels": ["<#C1>"], "flags": ["hidden"]})
    assert line == ('consult open "cafe" "Which\ncoffee?" "Arabica" "Robusta" --closes "2026-12-01" '
                    '--audience "ops,all,<#C1>" --hidden')


def test_nothing_typed_in_a_form_adds_an_option() -> None:
    line = command_line(SPEC, {"slug": ['cafe" --anonymous'], "question": ["--hidden"],
                               "flags": ["anonymous --hidden", "everyone", "hidden", "hidden"]})
    assert line == "consult open \"cafe' --anonymous\" \"--hidden\" --hidden"


def test_an_empty_required_input_stays_in_its_place() -> None:
    # Without the empty quoted argument, the question would be read as the community.
    assert command_line(SPEC, {"question": ["Tea?"]}) == 'consult open "" "Tea?"'


def test_a_refusal_is_shown_under_the_input_it_is_about() -> None:
    values = {"slug": ["cafe"], "options-1": ["Tea"], "options-2": [""], "audience": ["nowhere"]}
    past = Reply.error("'2026-01-01' is in the past.")
    assert input_for_refusal(SPEC, Reply(past.message, is_error=True, about="closes"), values) == "closes"
    few = Reply(Reply.error("Give at least 2 options.").message, is_error=True, about="options")
    assert input_for_refusal(SPEC, few, values) == "options-2"  # the first empty one
    assert input_for_refusal(SPEC, Reply.error("There is no community 'nowhere'."), values) == "audience"
    assert input_for_refusal(SPEC, Reply.error("Only managers may do that."), values) == "slug"


def test_form_goes_above_one_command() -> None:
    with pytest.raises(ValueError, match="right above"):
        form(title="T", submit="S", inputs=[Input("x", "X")])(lambda ctx: Reply.private(""))

    def handler(ctx: object, x: str) -> Reply:
        return Reply.private(x)

    declared = command("thing", usage=N_("thing <x>"), summary=N_("A thing."), args=[Arg("x", TEXT)])(handler)
    with pytest.raises(ValueError, match="same name"):
        form(title="T", submit="S", inputs=[Input("x", "X"), Input("x", "Y", option="x")])(declared)


def test_every_declared_form_fills_arguments_its_command_has(app: Application) -> None:
    specs = [(c, getattr(c.handler, FORMS_ATTRIBUTE)) for c in app.assembly.registry.commands.values()
             if hasattr(c.handler, FORMS_ATTRIBUTE)]
    assert sorted(c.name for c, _spec in specs) == ["consult open", "crisis announce", "crisis ask", "crisis declare",
                                                    "digest schedule", "idea", "nominate", "position open", "share"]
    for cmd, spec in specs:
        args = [a.name for a in cmd.args]
        options = {o.name: o for o in cmd.options}
        positional = [i.name for i in spec.inputs if not i.option and i.kind != "flags"]
        assert positional == args[:len(positional)], cmd.name
        for spec_input in spec.inputs:
            if spec_input.kind == "flags":
                assert all(options[value].flag for value, _label in spec_input.choices), cmd.name
            elif spec_input.option:
                assert not options[spec_input.option].flag, cmd.name
        assert find(app.core, cmd.name) is spec


def test_a_form_opens_in_the_persons_language_with_its_choices(app: Application) -> None:
    spec = find(app.core, "crisis declare")
    assert spec is not None
    shown = prepare(app.core, spec, Actor("console", "local", "zoe", "Zoé", "fr-FR"))
    assert (shown.title, shown.submit, shown.cancel) == ("Déclarer une crise", "Déclarer", "Annuler")
    assert shown.locale == "fr"
    audience = next(f for f in shown.fields if f.block == "audience")
    assert audience.choices == (("all", "Tout le monde (chaque canal où est Cercle)"),)
    remind = next(f for f in shown.fields if f.block == "remind-after")
    assert (remind.initial, remind.choices[0]) == ("4h", ("1h", "1 heure"))
