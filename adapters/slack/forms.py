"""Forms as Slack modals: a `Button` with a `Form` opens one; its submission runs `Form.command`.

Any capability gets a modal by attaching a `Form` to a `Button`: the form travels in the button's
value (compressed when long), the modal carries the command template in its private metadata, and
the submitted values are quoted into the template and run as the submitter's command.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from adapters.slack.escaping import escape_plain, truncate_escaped
from bot.i18n import _
from bot.messages import Form, FormField

CALLBACK_ID = "cercle:form"
VALUE_LIMIT = 2000
METADATA_LIMIT = 3000
TITLE_LIMIT = 24
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{1,30}$")


def encode_form(form: Form) -> str | None:
    """The form as a button value; None when even compressed it exceeds Slack's 2000 characters."""
    data = json.dumps({"t": form.title, "s": form.submit, "c": form.command,
                       "f": [[f.name, f.label, f.multiline, f.optional, f.placeholder, f.initial, f.kind]
                             for f in form.fields]}, ensure_ascii=False, separators=(",", ":"))
    if len(data) <= VALUE_LIMIT:
        return data
    packed = "z:" + base64.b64encode(zlib.compress(data.encode("utf-8"), 9)).decode("ascii")
    return packed if len(packed) <= VALUE_LIMIT else None


def decode_form(value: str) -> Form:
    """The form a button value carries; ValueError when it is not one."""
    raw = zlib.decompress(base64.b64decode(value[2:])).decode("utf-8") if value.startswith("z:") else value
    data = json.loads(raw)
    fields = tuple(FormField(name=str(f[0]), label=str(f[1]), multiline=bool(f[2]), optional=bool(f[3]),
                             placeholder=str(f[4]), initial=str(f[5]), kind=_kind(f[6] if len(f) > 6 else "text"))
                   for f in data["f"])
    if not fields:
        raise ValueError("a form without fields")
    return Form(title=str(data["t"]), submit=str(data["s"]), fields=fields, command=str(data["c"]))


def _kind(value: object) -> Literal["text", "user", "channel"]:
    if value == "user":
        return "user"
    if value == "channel":
        return "channel"
    return "text"


@dataclass(frozen=True)
class FormState:
    """What a submitted modal needs to run its command: the template and where it was opened."""

    command: str
    fields: tuple[tuple[str, bool], ...]  # (name, optional)
    channel_id: str
    channel_name: str
    direct: bool
    picked: tuple[str, ...] = ()  # fields whose value is a picked person or channel, not typed text

    def to_metadata(self) -> str:
        return json.dumps({"c": self.command, "f": self.fields, "ch": self.channel_id, "n": self.channel_name,
                           "d": self.direct, "p": self.picked}, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_metadata(raw: str) -> FormState:
        data = json.loads(raw)
        return FormState(command=str(data["c"]), fields=tuple((str(n), bool(o)) for n, o in data["f"]),
                         channel_id=str(data["ch"]), channel_name=str(data.get("n", "")), direct=bool(data["d"]),
                         picked=tuple(str(n) for n in data.get("p", ())))


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate_escaped(text, limit, mrkdwn=False) or " "}


def modal_view(form: Form, state: FormState) -> dict[str, Any]:
    """The `views.open` payload of a form."""
    blocks: list[dict[str, Any]] = []
    for f in form.fields[:50]:
        element: dict[str, Any]
        if f.kind == "user":
            element = {"type": "users_select", "action_id": "value"}
        elif f.kind == "channel":
            element = {"type": "conversations_select", "action_id": "value",
                       "default_to_current_conversation": True, "filter": {"include": ["public", "private"]}}
        else:
            element = {"type": "plain_text_input", "action_id": "value", "multiline": f.multiline}
            if f.initial:
                element["initial_value"] = f.initial[:3000]
        if f.placeholder:
            element["placeholder"] = _plain(f.placeholder, 150)
        blocks.append({"type": "input", "block_id": f.name, "optional": f.optional,
                       "label": _plain(f.label, 2000), "element": element})
    metadata = state.to_metadata()
    if len(metadata) > METADATA_LIMIT:
        raise ValueError("form metadata too long")
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _plain(form.title, TITLE_LIMIT),
            "submit": _plain(form.submit, TITLE_LIMIT), "close": _plain(_("Cancel"), TITLE_LIMIT),
            "private_metadata": metadata, "blocks": blocks}


def submitted_values(view: dict[str, Any]) -> dict[str, str]:
    """Field name -> submitted text, from a `view_submission` payload."""
    values: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        for element in actions.values():
            user, channel = element.get("selected_user"), element.get("selected_conversation")
            if isinstance(user, str) and _USER_ID.match(user):
                values[block_id] = f"<@{user}>"
            elif isinstance(channel, str) and _CHANNEL_ID.match(channel):
                values[block_id] = f"<#{channel}>"
            else:
                value = element.get("value")
                values[block_id] = value if isinstance(value, str) else ""
    return values


def quote(value: str) -> str:
    """One double-quoted argument; embedded double quotes become single quotes (the grammar has no escape)."""
    return '"' + value.strip().replace('"', "'") + '"'


def fill_command(state: FormState, values: dict[str, str]) -> str:
    """The command line of a submission: each value quoted; an empty optional field drops its option."""
    template = state.command
    filled: dict[str, str] = {}
    for name, optional in state.fields:
        value = values.get(name, "").strip()
        if not value and optional:
            template = re.sub(r"--[\w-]+\s+\{" + re.escape(name) + r"\}", "", template)
            filled[name] = ""
        elif name in state.picked and re.fullmatch(r"<[@#][A-Z0-9]{2,31}>", value):
            filled[name] = value  # a mention token, read by the grammar as a person or a channel
        else:
            filled[name] = quote(value)
    template = re.sub(r" {2,}", " ", template).strip()
    return template.format_map(_Missing(filled))


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def field_for_error(state: FormState, values: dict[str, str], message: str, about: str = "") -> str:
    """The field a refusal is about: the argument the command named (`Reply.about`) when a field has its
    name, else the one whose value the message quotes, else the first."""
    named = [name for name, _optional in state.fields if about and name.replace("-", "_") == about]
    if named:
        return named[0]
    lowered = message.lower()
    for name, _optional in state.fields:
        value = values.get(name, "").strip()
        if value and value[:60].lower() in lowered:
            return name
    return state.fields[0][0]


def error_text(message: str) -> str:
    """A refusal as shown under a modal field."""
    return escape_plain(message)[:1000]
