"""The forms commands declare (`bot.forms`) as Slack modals.

`open_form` shows a command's form (from a shortcut or a bare slash command) with `views.open`; its
submission becomes the command's own line (`bot.forms.command_line`) and runs as the submitter, through
the same answering path as the other modals (`interactivity.answer_submission`): a refusal stays in the
modal, under the input it is about.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.conversation import NETWORK_ERRORS, Conversation, Where
from adapters.slack.escaping import truncate_escaped
from adapters.slack.grid import enterprise_of
from adapters.slack.interactivity import Refusals, answer_submission, submission_digest
from adapters.slack.platform import NAME
from bot import forms
from bot.events import Actor, Request
from bot.i18n import _, use_locale
from bot.messages import Reply

log = logging.getLogger(__name__)

CALLBACK_ID = "cercle:command-form"
CHOICES_LIMIT = 100  # Slack's most options in a select; more are typed instead
TEXT_LIMIT = 3000
DM_WITHIN = 1.0  # seconds to find the DM a global shortcut's answer goes to (Slack waits 3 s for the answer)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,30}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{1,30}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Opened:
    """What a submission needs to know of where its form was opened (the modal's private metadata)."""

    command: str
    channel_id: str = ""
    channel_name: str = ""
    direct: bool = False  # with no channel (a global shortcut): the reply goes to the person's DM

    def to_metadata(self) -> str:
        return json.dumps({"c": self.command, "ch": self.channel_id, "n": self.channel_name, "d": self.direct},
                          ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    def from_metadata(raw: str) -> Opened:
        data = json.loads(raw)
        return Opened(str(data["c"]), str(data.get("ch", "")), str(data.get("n", "")), bool(data.get("d")))


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate_escaped(text, limit, mrkdwn=False) or " "}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label, 75), "value": value[:150]}


def _element(shown: forms.Shown) -> dict[str, Any]:
    """The Block Kit element of one input."""
    kind, choices = shown.kind, shown.choices
    if kind in ("choice", "choices") and not 0 < len(choices) <= CHOICES_LIMIT:
        kind = "text"  # nothing or too much to pick from (Slack takes 1 to 100 options): typed instead
    element: dict[str, Any]
    if kind in ("text", "long"):
        element = {"type": "plain_text_input", "multiline": kind == "long"}
        if shown.initial:
            element["initial_value"] = shown.initial[:TEXT_LIMIT]
    elif kind == "user":
        element = {"type": "users_select"}
    elif kind == "users":
        element = {"type": "multi_users_select"}
    elif kind in ("channel", "channels"):
        element = {"type": "conversations_select" if kind == "channel" else "multi_conversations_select",
                   "filter": {"include": ["public", "private"], "exclude_bot_users": True}}
    elif kind == "date":
        element = {"type": "datepicker"}
        if _DATE.match(shown.initial):
            element["initial_date"] = shown.initial
    else:  # choice, choices, flags
        options = [_option(value, label) for value, label in choices[:CHOICES_LIMIT]]
        element = {"type": {"choice": "static_select", "choices": "multi_static_select"}.get(kind, "checkboxes"),
                   "options": options}
        initial = [o for o in options if o["value"] == shown.initial]
        if initial and kind == "choice":
            element["initial_option"] = initial[0]
    element["action_id"] = "value"
    return element


def modal(prepared: forms.Prepared, opened: Opened) -> dict[str, Any]:
    """The `views.open` payload of a declared form."""
    blocks: list[dict[str, Any]] = []
    for shown in prepared.fields:
        block: dict[str, Any] = {"type": "input", "block_id": shown.block, "optional": shown.optional,
                                 "label": _plain(shown.label, 2000), "element": _element(shown)}
        if shown.hint:
            block["hint"] = _plain(shown.hint, 2000)
        blocks.append(block)
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _plain(prepared.title, 24),
            "submit": _plain(prepared.submit, 24), "close": _plain(prepared.cancel, 24),
            "private_metadata": opened.to_metadata(), "blocks": blocks}


def read_values(view: dict[str, Any]) -> dict[str, list[str]]:
    """Block id -> the values submitted: texts, picked options, and picked people and channels as the
    mentions the grammar reads (`<@U1>`, `<#C1>`); anything else Slack could not have sent is dropped."""
    values: dict[str, list[str]] = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        got: list[str] = []
        for element in (actions or {}).values():
            users = [element.get("selected_user"), *(element.get("selected_users") or [])]
            got += [f"<@{u}>" for u in users if isinstance(u, str) and _USER_ID.match(u)]
            channels = [element.get("selected_conversation"), *(element.get("selected_conversations") or [])]
            got += [f"<#{c}>" for c in channels if isinstance(c, str) and _CHANNEL_ID.match(c)]
            options = [element.get("selected_option"), *(element.get("selected_options") or [])]
            got += [str(o["value"]) for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]
            for key in ("value", "selected_date"):
                if isinstance(element.get(key), str):
                    got.append(element[key])
        values[str(block_id)] = got
    return values


async def open_form(conversation: Conversation, client: AsyncWebClient, spec: forms.FormSpec, *, trigger_id: str,
                    where: Where, user_id: str, user_name: str = "", prefill: dict[str, str] | None = None) -> bool:
    """Show `spec`'s form to the person (in their language); False when Slack did not take it (they are
    told why)."""
    info = await conversation.users.info(user_id, user_name)
    actor = Actor(NAME, where.workspace, user_id, info.display_name or user_name or user_id, info.locale,
                  name_guessed=info.guessed or not info.display_name)
    core = conversation.core
    prepared = await asyncio.to_thread(forms.prepare, core, spec, actor, prefill, where.place())
    opened = Opened(spec.command, where.channel_id, where.channel_name, where.direct or not where.channel_id)
    try:
        await client.views_open(trigger_id=trigger_id, view=modal(prepared, opened))
        return True
    except NETWORK_ERRORS as exc:
        log.warning("could not open a form: %s", type(exc).__name__)
    with use_locale(prepared.locale):
        refused = Reply.error(_("The form could not be opened (Slack did not answer in time). Please try again."))
    # Where it was opened, only to them; from the ⚡ menu (no channel) the outbox takes it to their DM.
    request = Request(actor=actor, place=where.place(), text="", origin="modal")
    await core.answering.show(request, refused, conversation.responder(where, user_id), prepared.locale)
    return False


def register(bolt: AsyncApp, conversation: Conversation) -> None:
    """Attach the submission listener of declared forms."""
    refusals = Refusals()

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        async with conversation.busy():
            await submit(ack, body, view, client)

    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        try:
            opened = Opened.from_metadata(str(view.get("private_metadata") or ""))
        except (ValueError, KeyError, TypeError):
            opened = None
        spec = forms.find(conversation.core, opened.command) if opened else None
        if opened is None or spec is None:
            await ack()
            log.warning("a form submission for no known command was ignored")
            return
        values = read_values(view)
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        channel_id = opened.channel_id
        if not channel_id:  # a global shortcut: answer in the person's DM
            try:
                opened_dm = await asyncio.wait_for(client.conversations_open(users=user_id), DM_WITHIN)
                channel_id = str(opened_dm["channel"]["id"])
            except (*NETWORK_ERRORS, KeyError, TypeError) as exc:
                log.warning("could not open a DM to answer a form: %s", type(exc).__name__)
                refusal = await asyncio.to_thread(_unreachable, conversation, user_id, enterprise_of(body) or team)
                await ack(response_action="errors", errors={spec.inputs[0].blocks()[0]: refusal})
                return
        where = Where(team=team, channel_id=channel_id, channel_name=opened.channel_name, direct=opened.direct,
                      enterprise=enterprise_of(body))
        digest = submission_digest(conversation, values)  # keyed: a database reader cannot confirm a guess
        request = await conversation.request(where=where, user_id=user_id, user_name=str(user.get("username") or ""),
                                             text=forms.command_line(spec, values),
                                             event_key=f"view:{view.get('id')}:{digest}", origin="modal")
        await answer_submission(conversation, refusals, ack, request, where,
                                lambda reply: forms.input_for_refusal(spec, reply, values))

    bolt.view(CALLBACK_ID)(on_submit)


def _unreachable(conversation: Conversation, user_id: str, team: str) -> str:
    with use_locale(conversation.core.locale_of(Actor(NAME, team, user_id))):
        return _("Slack did not answer in time and nothing was done. Please submit again.")
