"""One answering policy for every platform.

An adapter turns a platform event into a `Request` and hands it to `Answering.answer` with a
`Responder`: the platform's two ways of showing a reply (to the caller only, or in the place). The
policy runs the router (in a thread), shows the reply by its visibility, in the language the router
built it in, and when the direct answer fails (the platform is busy or away), queues it in the outbox,
which retries it durably: a private reply as a direct message to the caller, a public one to the place.
A reply marked `traceable=False` is never queued: it is shown at once or not at all.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from sqlalchemy.engine import Engine

from bot import identity
from bot.commands.router import Outcome, Router
from bot.events import Actor, Request
from bot.messages import Message, Reply, Visibility
from bot.outbox import DeliveryError, Outbox
from bot.settings import Settings
from storage.db import session_scope

log = logging.getLogger(__name__)
SUBJECT = "reply"
COMMAND_THREADS = 2


@functools.cache
def command_lane() -> ThreadPoolExecutor:
    """The threads commands run in, apart from the default executor: a burst of clicks then queues here,
    while the short database steps of the delivery worker and the adapters (asyncio.to_thread) still
    find a free thread, and few threads compete with the event loop for the interpreter."""
    return ThreadPoolExecutor(max_workers=COMMAND_THREADS, thread_name_prefix="cercle-command")


class Responder(Protocol):
    """How an adapter shows a reply, rendered in `locale`. Raises `DeliveryError` when it could not
    (`permanent=True` when trying again cannot help)."""

    async def to_actor(self, reply: Reply, locale: str) -> None:
        """To the person who asked only: an ephemeral message, their direct room, the terminal."""
        ...

    async def to_place(self, reply: Reply, locale: str) -> None:
        """To everyone in the place the request came from."""
        ...


class Answering:
    def __init__(self, router: Router, engine: Engine, settings: Settings, outbox: Outbox) -> None:
        self.router = router
        self.engine = engine
        self.settings = settings
        self.outbox = outbox  # the application's: a queued answer wakes its delivery workers

    async def run(self, request: Request) -> Outcome:
        """The router's outcome (its reply is None for an event already handled). Never raises."""
        call = functools.partial(contextvars.copy_context().run, self.router.handle_outcome, request)  # as to_thread
        return await asyncio.get_running_loop().run_in_executor(command_lane(), call)

    async def answer(self, request: Request, responder: Responder) -> Reply | None:
        """Run the request and show its reply; returns the reply (None for an event already handled)."""
        outcome = await self.run(request)
        if outcome.reply is not None:
            await self.show(request, outcome.reply, responder, outcome.locale)
        return outcome.reply

    async def show(self, request: Request, reply: Reply, responder: Responder, locale: str | None = None) -> None:
        """Show `reply` by its visibility; if that fails for now, the outbox delivers it later."""
        if not locale:
            locale = await asyncio.to_thread(self.locale_of, request.actor)
        public = reply.visibility == Visibility.PUBLIC
        try:
            if public:
                await responder.to_place(reply, locale)
            else:
                await responder.to_actor(reply, locale)
            return
        except DeliveryError as exc:
            failure = exc
        if failure.permanent or not reply.traceable:
            log.warning("%s: an answer could not be shown (%s)%s", request.place.platform, failure.reason,
                        "" if reply.traceable else "; not queued, by design")
            return
        log.info("%s: an answer could not be shown now (%s); the outbox delivers it", request.place.platform,
                 failure.reason)
        await asyncio.to_thread(self.queue, request, reply.message, to_place=public)

    def queue(self, request: Request, message: Message, *, to_place: bool) -> None:
        """Have the outbox deliver `message` to the request's place, or privately to its caller."""
        place, actor = request.place, request.actor
        with session_scope(self.engine) as session:
            if to_place:
                self.outbox.enqueue(session, platform=place.platform, workspace=place.workspace,
                                    target_kind="channel", target_id=place.channel_id, message=message,
                                    subject=SUBJECT)
            else:
                self.outbox.enqueue(session, platform=actor.platform, workspace=actor.workspace, target_kind="dm",
                                    target_id=actor.user_id, message=message, subject=SUBJECT)

    def locale_of(self, actor: Actor) -> str:
        """The language to speak to `actor` outside a command (the one rule: `identity.choose_locale`)."""
        with session_scope(self.engine) as session:
            return identity.account_locale(session, actor.platform, actor.workspace, actor.user_id,
                                           self.settings.locale, actor.locale)
