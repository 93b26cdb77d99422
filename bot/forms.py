"""Forms declared next to their commands, for platforms that have forms (modals).

A long command (many arguments, quotes, `--options`) declares its form with `@form(...)` right above its
`@command(...)`: a title, a submit label and a few `Input`s, each saying what the person fills in (text,
a person, channels, a choice, a date, checkboxes) and which argument or option of the command it fills.
A platform shows the form (`prepare`: labels and choices in the person's language, choices read from the
database), and turns a submission back into the command's own line (`command_line`): the submission runs
the SAME command as the typed one, so permissions, rules and refusals are the command's. A refusal names
the input it is about (`input_for_refusal`) so the platform can show it under that input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from sqlmodel import select

from bot import identity
from bot.commands.registry import Handler, commands_of
from bot.events import Actor, Place
from bot.i18n import _, use_locale
from storage.db import session_scope
from storage.tables import Channel, Person

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.core import Core
    from bot.messages import Reply
    from bot.settings import Settings

Kind = Literal["text", "long", "user", "users", "channel", "channels", "choice", "choices", "date", "flags"]
PICKED = frozenset({"user", "users", "channel", "channels"})  # the platform's own pickers: values are mentions
FORMS_ATTRIBUTE = "__cercle_form__"


@dataclass(frozen=True)
class FormEnv:
    """What a form's choices and initial values may depend on: the database, who opens it, when."""

    session: Session
    settings: Settings
    person_id: int | None
    zone: str
    now: datetime
    channel_id: int | None = None  # the channel it is opened from, when Cercle knows it (`Channel.id`)


Source = Callable[[FormEnv], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Input:
    """One input of a form and where its value goes: the positional argument `name` (inputs in order), or
    the option `--option` (inputs sharing an option are joined with commas); `flags` inputs add the
    options their ticked choices name. `repeat` shows several inputs (empty ones are ignored; the first
    `at_least` are required)."""

    name: str
    label: str  # N_(); a repeated input's label gets {n}
    kind: Kind = "text"
    option: str = ""
    optional: bool = False
    repeat: int = 1
    at_least: int = 0
    choices: tuple[tuple[str, str], ...] = ()  # (value, N_(label)), fixed
    source: Source | None = None  # (value, label) read when the form opens (names from the database)
    initial: str | Callable[[FormEnv], str] = ""
    hint: str = ""  # N_(): a line under the input

    def blocks(self) -> list[str]:
        """The names of the inputs shown: `options-1`, `options-2`… for a repeated one."""
        return [self.name] if self.repeat == 1 else [f"{self.name}-{i}" for i in range(1, self.repeat + 1)]

    @property
    def fills(self) -> str:
        """The argument or option it fills, as the command's refusals name it."""
        return (self.option or self.name).replace("-", "_")


@dataclass(frozen=True)
class FormSpec:
    command: str  # the command's words, in English ("crisis declare")
    title: str  # N_()
    submit: str  # N_()
    inputs: tuple[Input, ...]


def form(*, title: str, submit: str, inputs: Iterable[Input]) -> Callable[[Handler], Handler]:
    """Declare the form of the command declared just below (`@form` goes above `@command`)."""

    def decorate(handler: Handler) -> Handler:
        declared = commands_of(handler)
        if len(declared) != 1:
            raise ValueError("@form goes right above the one @command it describes")
        spec = FormSpec(declared[0].name, title, submit, tuple(inputs))
        names = [b for i in spec.inputs for b in i.blocks()]
        if len(names) != len(set(names)):
            raise ValueError(f"two inputs of the form of {spec.command} have the same name")
        setattr(handler, FORMS_ATTRIBUTE, spec)
        return handler

    return decorate


def find(core: Core, command: str) -> FormSpec | None:
    """The form declared for `command` (its English words) in the application's commands."""
    cmd = core.router.registry.commands.get(tuple(command.split()))
    spec = getattr(cmd.handler, FORMS_ATTRIBUTE, None) if cmd is not None else None
    return spec if isinstance(spec, FormSpec) else None


def with_form(core: Core, words: str) -> FormSpec | None:
    """The form of the command `words` names exactly, in any language (`crise déclarer`), if it has one."""
    split = words.split()
    cmd, used = core.router.registry.lookup(split)
    if cmd is None or used != len(split) or not split:
        return None
    return find(core, cmd.name)


# -- showing a form ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shown:
    """One input as the person sees it: translated, its choices loaded."""

    block: str
    label: str
    kind: Kind
    optional: bool
    choices: tuple[tuple[str, str], ...] = ()
    initial: str = ""
    hint: str = ""


@dataclass(frozen=True)
class Prepared:
    """A form ready to show to one person: what a platform renders (Slack: a modal)."""

    command: str
    title: str
    submit: str
    cancel: str
    fields: tuple[Shown, ...]
    locale: str


def prepare(core: Core, spec: FormSpec, actor: Actor, prefill: Mapping[str, str] | None = None,
            place: Place | None = None) -> Prepared:
    """The form for `actor`, in their language; `prefill` gives initial texts (a message being shared);
    `place`: where it is opened (a community's channel preselects the community)."""
    prefill = prefill or {}
    with session_scope(core.engine) as session:
        channel = session.exec(select(Channel).where(
            Channel.platform == place.platform, Channel.workspace == place.workspace,
            Channel.channel_id == place.channel_id)).first() if place is not None and place.channel_id else None
        account = identity.find_account(session, actor.platform, actor.workspace, actor.user_id)
        person = session.get(Person, account.person_id) if account is not None else None
        locale = identity.account_locale(session, actor.platform, actor.workspace, actor.user_id,
                                         core.settings.locale, actor.locale)
        zone = identity.person_zone(session, person, core.settings.timezone) if person is not None else \
            core.settings.timezone
        env = FormEnv(session, core.settings, person.id if person is not None else None, zone, core.clock.now(),
                      channel.id if channel is not None else None)
        with use_locale(locale, zone=zone):
            fields = tuple(_shown(i, env, prefill) for i in spec.inputs)
            return Prepared(spec.command, _(spec.title), _(spec.submit), _("Cancel"),
                            tuple(f for group in fields for f in group), locale)


def _shown(spec: Input, env: FormEnv, prefill: Mapping[str, str]) -> list[Shown]:
    choices = tuple((value, _(label)) for value, label in spec.choices)
    if spec.source is not None:
        choices += tuple(spec.source(env))
    initial = spec.initial(env) if callable(spec.initial) else spec.initial
    initial = prefill.get(spec.name, initial)
    hint = _(spec.hint) if spec.hint else ""
    if spec.repeat == 1:
        return [Shown(spec.name, _(spec.label), spec.kind, spec.optional, choices, initial, hint)]
    return [Shown(block, _(spec.label, n=n), spec.kind, n > spec.at_least, choices, "", hint if n == 1 else "")
            for n, block in enumerate(spec.blocks(), start=1)]


# -- a submission becomes the command line ------------------------------------------------------------
def quote(value: str) -> str:
    """One double-quoted argument; embedded double quotes become single quotes (the grammar has no escape)."""
    return '"' + value.strip().replace('"', "'") + '"'


def command_line(spec: FormSpec, values: Mapping[str, Sequence[str]]) -> str:
    """The command line a submission stands for. `values`: input name -> the values given (texts, picked
    choices, or the platform's mentions of picked people and channels); every value is quoted, so nothing
    typed in a form can add an option; ticked flags must be among the declared ones."""
    parts = [spec.command]
    options: dict[str, list[str]] = {}
    flags: list[str] = []
    for spec_input in spec.inputs:
        given = [v.strip() for block in spec_input.blocks() for v in values.get(block, ()) if v and v.strip()]
        if spec_input.kind == "flags":
            allowed = {value for value, _label in spec_input.choices}
            flags.extend(f"--{v}" for v in dict.fromkeys(given) if v in allowed)
        elif spec_input.option:
            options.setdefault(spec_input.option, []).extend(given)
        elif spec_input.repeat > 1:
            parts.extend(quote(v) for v in given)
        else:
            parts.append(quote(",".join(given)))  # empty when missing: the command says what is wrong
    for name, given in options.items():
        if given:
            parts.append(f"--{name} {quote(','.join(given))}")
    return " ".join([*parts, *flags])


def input_for_refusal(spec: FormSpec, reply: Reply, values: Mapping[str, Sequence[str]]) -> str:
    """The input a refusal is about: the argument the command named, else the input whose value the
    message quotes, else the first input."""
    if reply.about:
        for spec_input in spec.inputs:
            if spec_input.fills == reply.about.replace("-", "_") and spec_input.kind != "flags":
                blocks = spec_input.blocks()
                empty = [b for b in blocks if not any(v.strip() for v in values.get(b, ()))]
                return empty[0] if spec_input.repeat > 1 and empty else blocks[0]
    lowered = reply.message.summary.lower()
    for spec_input in spec.inputs:
        for block in spec_input.blocks():
            for value in values.get(block, ()):
                if value.strip() and value.strip()[:60].lower() in lowered:
                    return block
    return spec.inputs[0].blocks()[0]


__all__ = ["PICKED", "FormEnv", "FormSpec", "Input", "Kind", "Prepared", "Shown", "command_line", "find", "form",
           "input_for_refusal", "prepare", "quote", "with_form"]
