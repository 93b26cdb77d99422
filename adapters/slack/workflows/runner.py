"""Runs Workflow Builder steps on the Bolt app: `app.function(callback_id)` per step.

The step runs as the person who runs the workflow: the `user_context` input (Slack fills it with "the person
who used this workflow" and checks it; a workflow's author cannot type someone else's), or the interactor of
an `interactivity` input. A plain user id input is not accepted: an author could name anyone, an admin
included. The command runs through the core like a typed one (permissions, audit, once-only event key: a
redelivered `function_executed` has no second effect) in the person's direct conversation with the bot.
Every outcome completes the step: `complete(outputs)`, or `fail(reason)` in the person's language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.complete.async_complete import AsyncComplete
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.conversation import NETWORK_ERRORS, Conversation, Where
from adapters.slack.grid import enterprise_of
from adapters.slack.platform import NAME
from adapters.slack.workflows.steps import STEPS, Step, StepInputError
from bot.events import Actor
from bot.i18n import _, use_locale

log = logging.getLogger(__name__)
ORIGIN = "workflow"


def runner_of(inputs: Mapping[str, Any]) -> str:
    """The person who runs the workflow, from a `user_context` or `interactivity` input ("" if none)."""
    context = inputs.get("user_context")
    if isinstance(context, Mapping) and isinstance(context.get("id"), str):
        return str(context["id"])
    interactivity = inputs.get("interactivity")
    interactor = interactivity.get("interactor") if isinstance(interactivity, Mapping) else None
    if isinstance(interactor, Mapping) and isinstance(interactor.get("id"), str):
        return str(interactor["id"])
    return ""


def register(bolt: AsyncApp, conversation: Conversation) -> None:
    """Attach every step of `STEPS` to `bolt`."""
    for step in STEPS:
        bolt.function(step.callback_id)(_listener(step, conversation))


def _listener(step: Step, conversation: Conversation) -> Any:
    async def on_step(body: dict[str, Any], event: dict[str, Any], complete: AsyncComplete, fail: AsyncFail,
                      client: AsyncWebClient) -> None:
        async with conversation.busy():
            try:
                await run_step(step, conversation, body, event, complete, fail, client)
            except Exception:  # never a traceback to the person: the step fails with a plain reason
                log.exception("workflow step %s failed", step.callback_id)
                with use_locale(conversation.core.settings.locale):
                    message = _("Something went wrong on Cercle's side and nothing was changed. "
                                "Please run the workflow again.")
                try:
                    await fail(message)
                except NETWORK_ERRORS as exc:
                    log.warning("could not fail a workflow step: %s", type(exc).__name__)

    return on_step


async def run_step(step: Step, conversation: Conversation, body: dict[str, Any], event: dict[str, Any],
                   complete: AsyncComplete, fail: AsyncFail, client: AsyncWebClient) -> None:
    inputs = event.get("inputs") if isinstance(event.get("inputs"), Mapping) else {}
    assert isinstance(inputs, Mapping)
    team, enterprise = str(body.get("team_id") or ""), enterprise_of(body)
    user_id = runner_of(inputs)
    if not user_id:
        with use_locale(conversation.core.settings.locale):
            await fail(_("This step runs as the person who uses the workflow: give its “Person” input "
                         "the value “Person who used this workflow”."))
        return
    actor = Actor(NAME, enterprise or team, user_id)
    locale = await asyncio.to_thread(conversation.core.locale_of, actor)
    with use_locale(locale):
        try:
            line = step.command(inputs)
        except StepInputError as exc:
            await fail(str(exc))
            return
    try:
        opened = await client.conversations_open(users=user_id)
        channel = str(opened["channel"]["id"])
    except NETWORK_ERRORS as exc:
        log.warning("workflow step %s: no direct conversation with the person (%s)", step.callback_id,
                    type(exc).__name__)
        with use_locale(locale):
            await fail(_("Slack did not let Cercle reach you; nothing was changed. Please run the workflow again."))
        return
    where = Where(team=team, channel_id=channel, direct=True, enterprise=enterprise)
    execution = str(event.get("function_execution_id") or "")
    request = await conversation.request(where=where, user_id=user_id, user_name="", text=line,
                                         event_key=f"function:{execution}" if execution else None, origin=ORIGIN)
    outcome = await conversation.core.answering.run(request)
    reply = outcome.reply
    if reply is None:  # this execution was handled before (a redelivery): it was completed then
        log.info("workflow step %s: execution already handled", step.callback_id)
        return
    with use_locale(outcome.locale or locale):
        answer = reply.message.summary
        if reply.is_error:
            await fail(answer)
            return
        outputs = step.outputs(inputs, answer)
    await complete(outputs)

