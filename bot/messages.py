"""The platform-neutral message model.

Capabilities build `Reply`s and `Message`s out of these blocks; each adapter renders
them in its platform's idiom (Block Kit, Matrix HTML, plain text). All text here is
plain text written by the bot or by users: renderers escape it, so user input can never
inject mentions or markup.

A button runs a command as the person who clicks it (`Button.command`), so every
interactive element goes through the same grammar, permissions and once-only
handling as a typed command.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from bot.i18n import current_locale
from bot.i18n.typography import colon


class Visibility(StrEnum):
    PRIVATE = "private"  # the caller only (Slack ephemeral, Matrix DM or notice to the caller)
    PUBLIC = "public"  # everyone in the place the command came from


class Ring(StrEnum):
    """Whether a message should notify (ring) its readers, for platforms that tell it apart."""

    QUIET = "quiet"  # routine: shown without a notification (Matrix m.notice)
    PEOPLE = "people"  # for the people it is addressed to: the recipient of a direct message, the caller
    EVERYONE = "everyone"  # everyone in the place (a crisis announcement when the communicator asks for it)


@dataclass(frozen=True)
class Poll:
    """The message is a vote on platforms with native polls (Matrix MSC3381): its buttons are the answers,
    each running its command as the person who picks it (a changed answer runs the new one). `key` ties
    the poll to the message that ends it (`ends=True`, sent with the results); elsewhere it is ignored.
    Never for a secret vote: a poll answer is seen by everyone in the place."""

    key: str
    question: str
    ends: bool = False


@dataclass(frozen=True)
class Confirm:
    """A confirmation dialog shown before a destructive button runs."""

    title: str
    text: str
    confirm: str
    deny: str


@dataclass(frozen=True)
class FormField:
    """One input of a form (Slack modal; other platforms show the equivalent command)."""

    name: str
    label: str
    multiline: bool = False
    optional: bool = False
    placeholder: str = ""
    initial: str = ""
    kind: Literal["text", "user", "channel"] = "text"  # a person or a channel is picked, not typed


@dataclass(frozen=True)
class Form:
    """A long input form. On submit the adapter fills `command` (a str.format template over the
    field names, each value quoted) and runs it as the submitter."""

    title: str
    submit: str
    fields: tuple[FormField, ...]
    command: str


@dataclass(frozen=True)
class Button:
    label: str
    command: str = ""  # the command line run as the person who clicks
    style: Literal["default", "primary", "danger"] = "default"
    confirm: Confirm | None = None
    form: Form | None = None  # instead of a command: open this form
    reaction: str = ""  # on platforms without buttons (Matrix), the reaction that does the same
    # Its command may be run only from a private place (`bot.places`): where a button is shown as a command to
    # type (Matrix), it says to type it in private, and it is never offered as a reaction in the room.
    private: bool = False


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Section:
    text: str = ""
    title: str = ""
    fields: tuple[Field, ...] = ()
    lines: tuple[str, ...] = ()  # a bulleted list


@dataclass(frozen=True)
class Context:
    """A small grey line (hints, codes, timestamps)."""

    text: str


@dataclass(frozen=True)
class Actions:
    buttons: tuple[Button, ...]


Block = Section | Context | Actions


@dataclass(frozen=True)
class Message:
    """What the bot says: a list of blocks plus a plain-text summary for notifications. `locale`: the
    language it is written in (the one in use when it is built), for the renderers' typography."""

    summary: str
    blocks: tuple[Block, ...] = ()
    pin: bool = False  # pin it where the platform allows (crisis announcements)
    locale: str = field(default_factory=current_locale)
    ring: Ring = Ring.QUIET  # whether it notifies (announcements, reminders, consent requests, decisions)
    poll: Poll | None = None  # a native poll where the platform has them
    live: str = ""  # a live post's key ("consultation:3"): refreshing it updates the post in place (bot/outbox/live.py)

    @staticmethod
    def text(text: str) -> Message:
        return Message(summary=text, blocks=(Section(text=text),))

    def rings(self, ring: Ring = Ring.PEOPLE) -> Message:
        """The same message, notifying its readers (see `Ring`)."""
        return replace(self, ring=ring)

    def buttons(self) -> list[Button]:
        return [b for block in self.blocks if isinstance(block, Actions) for b in block.buttons]

    def to_json(self) -> str:
        return json.dumps(_encode(self), ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_json(data: str) -> Message:
        return _decode_message(json.loads(data))

    def plain_text(self) -> str:
        """The message as plain text: used by the console and as the fallback body elsewhere."""
        out: list[str] = []
        sep = colon(self.locale)
        for block in self.blocks:
            if isinstance(block, Section):
                if block.title:
                    out.append(block.title)
                if block.text:
                    out.append(block.text)
                out.extend(f"  {f.label}{sep}{f.value}" for f in block.fields)
                out.extend(f"  • {line}" for line in block.lines)
            elif isinstance(block, Context):
                out.extend(f"  {line}" for line in block.text.splitlines())
            else:
                out.extend(f"  [{b.label}] → {b.command}" for b in block.buttons if b.command)
        return "\n".join(out) if out else self.summary


@dataclass(frozen=True)
class Reply:
    """The answer to one request, shown where the request came from."""

    message: Message
    visibility: Visibility = Visibility.PRIVATE
    is_error: bool = False
    # False: if it cannot be shown at once it is dropped, never queued in the outbox addressed to the
    # caller (the acknowledgement of an anonymous question must leave no row that names the asker).
    traceable: bool = True
    # For the caller's eyes only (referrals, anonymous questions, someone's own data): a platform that
    # shows private answers in the place (Matrix, in the command's thread) sends it to the person's direct
    # conversation instead. The router sets it for the commands a capability declares confidential.
    confidential: bool = False

    @property
    def secret(self) -> bool:
        """Only the caller may read it: confidential, or an acknowledgement that must leave no trace."""
        return self.confidential or not self.traceable

    @staticmethod
    def private(text: str, *, traceable: bool = True) -> Reply:
        return Reply(Message.text(text), Visibility.PRIVATE, traceable=traceable)

    @staticmethod
    def public(text: str) -> Reply:
        return Reply(Message.text(text), Visibility.PUBLIC)

    @staticmethod
    def error(text: str, usage: str = "") -> Reply:
        blocks: list[Block] = [Section(text=text)]
        if usage:
            blocks.append(Context(text=usage))
        return Reply(Message(summary=text, blocks=tuple(blocks)), Visibility.PRIVATE, is_error=True)


def _encode(obj: Any) -> Any:
    if isinstance(obj, Message):
        encoded: dict[str, Any] = {"summary": obj.summary, "pin": obj.pin, "locale": obj.locale,
                                   "blocks": [{"kind": type(b).__name__, **asdict(b)} for b in obj.blocks]}
        if obj.ring != Ring.QUIET:
            encoded["ring"] = obj.ring.value
        if obj.poll is not None:
            encoded["poll"] = asdict(obj.poll)
        if obj.live:
            encoded["live"] = obj.live
        return encoded
    raise TypeError(type(obj))


def _decode_button(d: dict[str, Any]) -> Button:
    confirm = Confirm(**d["confirm"]) if d.get("confirm") else None
    form = None
    if d.get("form"):
        f = d["form"]
        form = Form(title=f["title"], submit=f["submit"], command=f["command"],
                    fields=tuple(FormField(**x) for x in f["fields"]))
    return Button(label=d["label"], command=d.get("command", ""), style=d.get("style", "default"),
                  confirm=confirm, form=form, reaction=d.get("reaction", ""), private=d.get("private", False))


def _decode_message(d: dict[str, Any]) -> Message:
    blocks: list[Block] = []
    for b in d.get("blocks", []):
        kind = b.pop("kind")
        if kind == "Section":
            blocks.append(Section(text=b.get("text", ""), title=b.get("title", ""),
                                  fields=tuple(Field(**f) for f in b.get("fields", [])),
                                  lines=tuple(b.get("lines", []))))
        elif kind == "Context":
            blocks.append(Context(text=b["text"]))
        elif kind == "Actions":
            blocks.append(Actions(buttons=tuple(_decode_button(x) for x in b["buttons"])))
    poll = Poll(**d["poll"]) if d.get("poll") else None
    return Message(summary=d["summary"], blocks=tuple(blocks), pin=d.get("pin", False),
                   locale=d.get("locale") or current_locale(), ring=Ring(d.get("ring") or Ring.QUIET), poll=poll,
                   live=d.get("live") or "")


__all__ = ["Actions", "Block", "Button", "Confirm", "Context", "Field", "Form", "FormField", "Message", "Poll",
           "Reply", "Ring", "Section", "Visibility"]
