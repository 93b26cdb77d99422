"""Buttons and modals: a click runs the button's command as the person who clicked; a button
with a form opens a modal whose submission runs the form's command.

A refused submission (a `UserError` reply) stays in the modal, shown under the field it is about.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.conversation import NETWORK_ERRORS, Conversation, Where, is_direct
from adapters.slack.forms import (
    CALLBACK_ID,
    FormState,
    decode_form,
    error_text,
    field_for_error,
    fill_command,
    modal_view,
    submitted_values,
)
from adapters.slack.grid import enterprise_of
from adapters.slack.platform import NAME
from adapters.slack.rendering import COMMAND_ACTION, FORM_ACTION
from bot.events import Actor, Request
from bot.i18n import _, use_locale
from bot.messages import Reply

log = logging.getLogger(__name__)
ACK_WITHIN = 2.5  # seconds; Slack waits 3 for the answer to a modal submission


def _where(body: dict[str, Any]) -> Where:
    team = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")
    channel = body.get("channel") or {}
    channel_id = str(channel.get("id") or (body.get("container") or {}).get("channel_id") or "")
    name = str(channel.get("name") or "")
    return Where(team=team, channel_id=channel_id, channel_name=name, direct=is_direct(channel_id, name),
                 enterprise=enterprise_of(body))


class Refusals:
    """The errors last shown in modals, by submission key (bounded), so submitting the same refused
    values again shows the errors again rather than closing the modal."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._items: OrderedDict[str, dict[str, str]] = OrderedDict()

    def remember(self, key: str, errors: dict[str, str]) -> None:
        self._items[key] = errors
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key: str) -> dict[str, str] | None:
        return self._items.get(key)


_PROCESS_KEY = secrets.token_bytes(32)  # only for an app without any secret (tests of the protocol alone)


def submission_digest(conversation: Conversation, values: dict[str, Any]) -> str:
    """Tells a corrected submission of the same modal from a repeat of it. Keyed with the app's secret: a
    plain hash of the values, kept in the processed events, would let a database reader confirm a guess of
    what was typed (an anonymous question's text)."""
    section = conversation.core.settings.section(NAME)
    secret = next((v for v in (getattr(section, "signing_secret", None), getattr(section, "app_token", None),
                               getattr(section, "client_secret", None)) if v), "")
    key = (secret + "".join(conversation.core.settings.secret_keys)).encode() or _PROCESS_KEY
    return hmac.new(key, json.dumps(values, sort_keys=True).encode(), hashlib.sha256).hexdigest()[:16]


def register(bolt: AsyncApp, conversation: Conversation) -> None:
    """Attach the button and modal listeners to `bolt`."""
    refusals = Refusals()

    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        async with conversation.busy():
            await ack()
            await click(body, action, client)

    async def click(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        where = _where(body)
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        if str(action.get("action_id", "")).startswith(FORM_ACTION):
            await _open_form(conversation, client, body, action, where, user_id)
            return
        stamp = action.get("action_ts") or body.get("trigger_id")
        key = f"action:{stamp}:{user_id}" if stamp else None
        request = await conversation.request(where=where, user_id=user_id,
                                             user_name=str(user.get("username") or user.get("name") or ""),
                                             text=str(action.get("value") or ""), event_key=key, origin="button")
        # Through the message's response_url when it has one, else posted.
        await conversation.answer(request, where, str(body.get("response_url") or "") or None)

    bolt.action(re.compile("^" + re.escape(COMMAND_ACTION) + "|^" + re.escape(FORM_ACTION)))(on_button)

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        async with conversation.busy():
            await submit(ack, body, view)

    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id") or "")
        try:
            state = FormState.from_metadata(str(view.get("private_metadata") or ""))
        except (ValueError, KeyError, TypeError):
            await ack()
            log.warning("a modal submission without Cercle's metadata was ignored")
            return
        values = submitted_values(view)
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        where = Where(team=team, channel_id=state.channel_id, channel_name=state.channel_name, direct=state.direct,
                      enterprise=enterprise_of(body))
        digest = submission_digest(conversation, values)
        request = await conversation.request(where=where, user_id=user_id, user_name=str(user.get("username") or ""),
                                             text=fill_command(state, values),
                                             event_key=f"view:{view.get('id')}:{digest}", origin="modal")
        await answer_submission(conversation, refusals, ack, request, where,
                                lambda reply: field_for_error(state, values, reply.message.summary, reply.about))

    bolt.view(CALLBACK_ID)(on_submit)


async def answer_submission(conversation: Conversation, refusals: Refusals, ack: AsyncAck, request: Request,
                            where: Where, field_of: Callable[[Reply], str]) -> None:
    """Run a modal's command and answer Slack: a refusal stays in the modal under the field `field_of` names
    (the same refused values submitted again show it again); otherwise the modal closes and the reply is shown."""
    answering, responder = conversation.core.answering, conversation.responder(where, request.actor.user_id)
    # Slack closes a submission it has no answer to within 3 s: past ACK_WITHIN the modal is closed and
    # the reply (refusal included) is posted instead of shown in the modal.
    task = asyncio.ensure_future(answering.run(request))
    try:
        outcome = await asyncio.wait_for(asyncio.shield(task), ACK_WITHIN)
    except TimeoutError:
        await ack()
        late = await task
        if late.reply is not None:
            await answering.show(request, late.reply, responder, late.locale)
        return
    reply = outcome.reply
    if reply is None:  # handled before: the same submission again gets the same answer
        shown = refusals.get(request.event_key or "")
        await (ack(response_action="errors", errors=shown) if shown else ack())
        return
    if reply.is_error:
        field = field_of(reply)
        errors = {field: error_text(reply.message.summary)}
        refusals.remember(request.event_key or "", errors)
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await answering.show(request, reply, responder, outcome.locale)


async def _open_form(conversation: Conversation, client: AsyncWebClient, body: dict[str, Any],
                     action: dict[str, Any], where: Where, user_id: str) -> None:
    try:
        form = decode_form(str(action.get("value") or ""))
    except (ValueError, KeyError, TypeError, IndexError):
        log.warning("a form button carried no readable form")
        return
    state = FormState(command=form.command, fields=tuple((f.name, f.optional) for f in form.fields),
                      channel_id=where.channel_id, channel_name=where.channel_name, direct=where.direct,
                      picked=tuple(f.name for f in form.fields if f.kind != "text"))
    user = body.get("user") or {}
    request = Request(actor=Actor(NAME, where.workspace, user_id, locale=user.get("locale")), place=where.place(),
                      text="", origin="button")
    locale = await asyncio.to_thread(conversation.core.locale_of, request.actor)
    answering, responder = conversation.core.answering, conversation.responder(where, user_id)
    with use_locale(locale):
        try:
            view = modal_view(form, state)
        except ValueError:
            log.warning("a form was too long for a Slack modal")
            await answering.show(request, Reply.error(_("This form is too long to open here.")), responder, locale)
            return
    try:
        await client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
    except NETWORK_ERRORS as exc:
        log.warning("could not open a form: %s", type(exc).__name__)
        with use_locale(locale):
            refused = Reply.error(_("The form could not be opened (Slack did not answer in time). Please click again."))
        await answering.show(request, refused, responder, locale)
