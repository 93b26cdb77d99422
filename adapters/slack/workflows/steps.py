"""The three Workflow Builder steps: their inputs become the same command line a person would type, so a
step runs the same core command, with the same permission checks, as `/cercle`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.forms import quote
from bot.i18n import _

_CODE = re.compile(r"^\s*([A-Za-z]?)\s*(\d{1,9})\s*$")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_OPTIONS = 10


class StepInputError(ValueError):
    """An input the step cannot use (its message is translated, for the person who runs the workflow)."""


@dataclass(frozen=True)
class Step:
    """One custom step: its callback id (the manifest's function key), how its inputs make a command, and
    its outputs from the inputs and Cercle's answer."""

    callback_id: str
    command: Callable[[Mapping[str, Any]], str]
    outputs: Callable[[Mapping[str, Any], str], dict[str, Any]]


def _text(inputs: Mapping[str, Any], name: str, label: str) -> str:
    value = inputs.get(name)
    if not isinstance(value, str) or not value.strip():
        raise StepInputError(_("The step's input “{name}” is empty.", name=label))
    return value.strip()


def _crisis(inputs: Mapping[str, Any]) -> str:
    raw = inputs.get("crisis")
    match = _CODE.match(str(raw)) if isinstance(raw, str | int) else None
    if not match or (match.group(1) and match.group(1).upper() != "C"):
        raise StepInputError(_("“{value}” is not a crisis code like C1.", value=str(raw or "")[:40]))
    return f"C{int(match.group(2))}"


def _slug(inputs: Mapping[str, Any]) -> str:
    value = _text(inputs, "community", _("community"))
    if not _SLUG.match(value):
        raise StepInputError(_("“{value}” is not a community slug.", value=value[:40]))
    return value


def _flag(inputs: Mapping[str, Any], name: str) -> bool:
    value = inputs.get(name)
    return value is True or (isinstance(value, str) and value.lower() == "true")


def announce_command(inputs: Mapping[str, Any]) -> str:
    crisis = _crisis(inputs)
    text = quote(_text(inputs, "text", _("announcement")))
    everyone = " --everyone" if _flag(inputs, "everyone") else ""
    return f"crisis announce {crisis} {text}{everyone}"


def consult_command(inputs: Mapping[str, Any]) -> str:
    slug = _slug(inputs)
    question = quote(_text(inputs, "question", _("question")))
    raw = inputs.get("options")
    options = [o.strip() for o in raw if isinstance(o, str) and o.strip()] if isinstance(raw, list) else []
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise StepInputError(_("A consultation needs 2 to {max} options; the step got {n}.", max=MAX_OPTIONS,
                               n=len(options)))
    line = f"consult open {slug} {question} " + " ".join(quote(o) for o in options)
    closes = inputs.get("closes")
    if isinstance(closes, str) and closes.strip():
        line += " --closes " + quote(closes)
    if _flag(inputs, "anonymous"):
        line += " --anonymous"
    return line


def digest_command(inputs: Mapping[str, Any]) -> str:
    return f"digest now {_slug(inputs)}"


def _found(answer: str, letter: str) -> str:
    """The code Cercle's answer names (every reply shows its object's code)."""
    match = re.search(r"\b" + letter + r"(\d+)\b", answer)
    return f"{letter}{match.group(1)}" if match else ""


STEPS: tuple[Step, ...] = (
    Step("crisis_announce", announce_command,
         lambda inputs, answer: {"crisis": _crisis(inputs), "message": answer}),
    Step("consult_open", consult_command,
         lambda inputs, answer: {"consultation": _found(answer, "V"), "message": answer}),
    Step("digest_now", digest_command,
         lambda inputs, answer: {"community": _slug(inputs), "message": answer}),
)
