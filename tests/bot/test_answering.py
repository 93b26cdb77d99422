"""The one answering policy (bot/answering.py): by visibility, in the caller's language, the outbox when the
platform does not take the answer, never the outbox for an untraceable one; and who decides a place is private."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlmodel import col, select

from bot.answering import COMMAND_THREADS
from bot.app import Application, default_platforms
from bot.commands.router import Outcome
from bot.events import Actor, Place, Request
from bot.messages import Reply
from bot.outbox import DeliveryError
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.bot.crisis.test_crisis import declare, setup_people
from tests.support.chat import Chat


class Recorder:
    """A responder that shows replies in a list, or fails like a platform that is away."""

    def __init__(self, failure: DeliveryError | None = None) -> None:
        self.failure = failure
        self.shown: list[tuple[str, str, str]] = []  # (to actor|place, text, locale)

    async def to_actor(self, reply: Reply, locale: str) -> None:
        self._show("actor", reply, locale)

    async def to_place(self, reply: Reply, locale: str) -> None:
        self._show("place", reply, locale)

    def _show(self, where: str, reply: Reply, locale: str) -> None:
        if self.failure is not None:
            raise self.failure
        self.shown.append((where, reply.message.plain_text(), locale))


def answer(app: Application, request: Request, responder: Recorder) -> Reply | None:
    return asyncio.run(app.core.answering.answer(request, responder))


def show(app: Application, request: Request, reply: Reply, responder: Recorder) -> None:
    asyncio.run(app.core.answering.show(request, reply, responder))


def rows(app: Application) -> list[OutboxMessage]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))


def test_a_reply_is_shown_by_its_visibility_in_the_language_it_was_built_in(app: Application,
                                                                                  chat: Chat) -> None:
    chat.ok("language fr", user="bob")
    chat.ok('community create jardin "Jardin"', user="bob")
    shown = Recorder()
    answer(app, chat.request("profile skills compost", user="bob"), shown)
    answer(app, chat.request("community link jardin", user="bob", channel="jardin"), shown)
    (private, public) = shown.shown
    assert private[0] == "actor" and "compost" in private[1] and private[2] == "fr"
    assert public[0] == "place" and "Jardin" in public[1] and public[2] == "fr"
    assert rows(app) == []  # shown directly: nothing queued


def test_a_reply_the_platform_does_not_take_goes_through_the_outbox(app: Application, chat: Chat) -> None:
    chat.ok('community create jardin "Jardin"', user="bob")
    away = Recorder(DeliveryError("homeserver busy", retry_after=5))
    answer(app, chat.request("profile skills compost", user="bob", channel="general"), away)
    answer(app, chat.request("community link jardin", user="bob", channel="jardin"), away)
    private, public = rows(app)
    assert (private.target_kind, private.target_id, private.platform) == ("dm", "bob", "console")
    assert (public.target_kind, public.target_id) == ("channel", "jardin")
    sent = chat.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("dm", "bob"), ("channel", "jardin")]
    assert "compost" in sent[0].text and "Jardin" in sent[1].text


def test_a_reply_that_can_never_be_shown_is_not_queued(app: Application, chat: Chat) -> None:
    refused = Recorder(DeliveryError("not in this channel", permanent=True))
    answer(app, chat.request("profile skills compost", user="bob"), refused)
    assert rows(app) == []


def test_the_acknowledgement_of_an_anonymous_question_is_never_queued_to_its_asker(app: Application,
                                                                                        chat: Chat) -> None:
    setup_people(chat)
    cid = declare(chat)
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    chat.deliver()
    before = len(rows(app))
    away = Recorder(DeliveryError("slack is away", retry_after=1))
    anonymous = chat.request(f'crisis ask C{cid} "Is my job at risk?" --anonymous', user="bob", direct=True)
    asked = answer(app, anonymous, away)
    assert asked is not None and not asked.is_error and not asked.traceable
    assert "Keep the code" in asked.message.plain_text()
    assert len(rows(app)) == before  # nothing addressed to bob, nothing at all
    # The same question with his name is acknowledged through the outbox when it cannot be shown.
    answer(app, chat.request(f'crisis ask C{cid} "And mine?"', user="bob", direct=True), away)
    (queued,) = rows(app)[before:]
    assert (queued.target_kind, queued.target_id) == ("dm", "bob")


def test_a_message_outside_a_command_is_in_the_persons_language(app: Application, chat: Chat) -> None:
    chat.ok("language fr", user="bob")
    shown = Recorder()
    bob = chat.request("", user="bob")
    show(app, bob, Reply.error("x"), shown)
    newcomer = Request(Actor("console", "local", "zed", "zed", locale="fr-FR"), bob.place, "")
    show(app, newcomer, Reply.error("y"), shown)
    stranger = Request(Actor("console", "local", "yan", "yan"), bob.place, "")
    show(app, stranger, Reply.error("z"), shown)
    assert [locale for _where, _text, locale in shown.shown] == ["fr", "fr", "en"]


SHARED, DIRECT = False, True


@pytest.mark.parametrize(("platform", "origin", "direct", "private"), [
    ("slack", "slash", SHARED, True),  # only the person sees a slash command, in any channel
    ("slack", "modal", SHARED, True),
    ("slack", "message", SHARED, False),  # an @Cercle mention in a channel
    ("slack", "button", SHARED, True),  # a click is seen by nobody else, its answer is ephemeral
    ("slack", "message", DIRECT, True),  # their DM with the bot
    ("matrix", "message", SHARED, False),
    ("matrix", "reaction", SHARED, False),
    ("matrix", "message", DIRECT, True),
    ("console", "message", SHARED, False),
    ("console", "message", DIRECT, True),  # `:dm`
    ("elsewhere", "slash", SHARED, False),  # a platform nobody declared: only a direct place is private
    ("elsewhere", "message", DIRECT, True),
])
def test_whether_a_place_is_private_is_the_platforms_to_say(platform: str, origin: str, direct: bool,
                                                            private: bool) -> None:
    place = Place(platform, "w", "D1" if direct else "C1", direct=direct)
    request = Request(Actor(platform, "w", "u1"), place, "help", origin=origin)
    assert default_platforms().is_private(request) is private


def test_the_router_decides_privacy_whatever_the_adapter_says(app: Application, chat: Chat) -> None:
    setup_people(chat)
    chat.ok("help", platform="matrix", workspace="hs", user="@bob:hs", direct=True)  # bob is known on Matrix
    cid = declare(chat, audience="all")
    chat.ok(f'crisis announce C{cid} "Read me."', user="dave")
    room = Place("matrix", "hs", "!room:hs", name="Ops")
    claims = Request(Actor("matrix", "hs", "@bob:hs", "Bob"), room, f'crisis ask C{cid} "Why?" --anonymous',
                     private=True)  # an adapter cannot make a shared room private
    refused = app.router.handle(claims)
    assert refused is not None and refused.is_error and "private conversation" in refused.message.plain_text()
    direct = Request(claims.actor, Place("matrix", "hs", "!dm:hs", direct=True), claims.text)
    accepted = app.router.handle(direct)
    assert accepted is not None and not accepted.is_error, accepted


async def test_a_burst_of_commands_waits_in_its_own_lane_and_leaves_the_default_threads_free(
        app: Application, chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in the command lane (bot/answering.py): however many arrive, at most COMMAND_THREADS run at
    once, and the short steps other parts run with asyncio.to_thread (the delivery worker's) are not queued
    behind them. The commands here wait until such a step has run: in the default threads they would fill
    them all and the step would wait out their 5 s."""
    answering = app.core.answering
    real = answering.router.handle_outcome
    step_ran = threading.Event()
    lock = threading.Lock()
    running, most, threads = [0], [0], set()

    def watched(request: Request) -> Outcome:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        step_ran.wait(5)
        try:
            return real(request)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(answering.router, "handle_outcome", watched)
    burst = asyncio.gather(*(answering.run(chat.request("help", user=f"user{i}")) for i in range(12)))
    await asyncio.sleep(0.05)  # the burst has taken what threads it can
    started = time.monotonic()
    await asyncio.to_thread(step_ran.set)
    waited = time.monotonic() - started
    outcomes = await burst
    assert waited < 1.0, f"a default-thread step waited {waited:.1f} s behind the commands"
    assert most[0] <= COMMAND_THREADS and threads and all(t.startswith("cercle-command") for t in threads)
    assert all(o.reply is not None and not o.reply.is_error for o in outcomes)
