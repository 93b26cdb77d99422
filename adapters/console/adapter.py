"""`cercle console`: commands line by line from standard input, replies on standard output.

Lines starting with `:` are console controls (`:as <user>`, `:in #<channel>`, `:dm`). Messages
the bot sends elsewhere are printed as `[#channel] …` or `[dm @user] …`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from adapters.console.platform import NAME, WORKSPACE, valid_name
from bot.core import Core
from bot.events import Actor, Place, Request
from bot.i18n import _, use_locale
from bot.messages import Reply
from bot.outbox import Outgoing
from bot.outbox.worker import DeliveryWorker

DRAIN_SECONDS = 5.0
WAITING_SECONDS = 0.5  # input that takes longer than this to come: the console is in use, not a quick pipe
BUSY_SECONDS = 5.0  # ... or a script that has been running this long


class ConsoleSender:
    """Prints messages meant for other channels and people."""

    platform = NAME

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, item: Outgoing) -> str:
        where = f"[#{item.target_id}]" if item.target_kind == "channel" else f"[dm @{item.target_id}]"
        self.out.write(indent(where, item.message.plain_text()) + "\n")
        self.out.flush()
        return f"console-{item.id}"


def indent(prefix: str, text: str) -> str:
    lines = text.splitlines() or [""]
    pad = " " * (len(prefix) + 1)
    return "\n".join([f"{prefix} {lines[0]}", *(pad + line for line in lines[1:])])


class ConsoleSession:
    """Who is typing, where."""

    def __init__(self, user: str, channel: str) -> None:
        self.user = user.lower()  # console names ignore case: ALICE is alice
        self.channel = channel
        self.direct = False

    def place(self) -> Place:
        if self.direct:
            return Place(NAME, WORKSPACE, f"dm-{self.user}", name=f"dm @{self.user}", direct=True)
        return Place(NAME, WORKSPACE, self.channel, name=f"#{self.channel}")

    def prompt(self) -> str:
        where = "dm" if self.direct else f"#{self.channel}"
        return f"{self.user}@{where}> "


class Printed:
    """The console's responder: a reply, private or public, is printed under the command."""

    def __init__(self) -> None:
        self.text: str | None = None

    async def to_actor(self, reply: Reply, locale: str) -> None:
        self.text = reply.message.plain_text()

    async def to_place(self, reply: Reply, locale: str) -> None:
        self.text = reply.message.plain_text()


class ConsoleAdapter:
    def __init__(self, core: Core, worker: DeliveryWorker, *, user: str, channel: str,
                 stdin: TextIO | None = None, stdout: TextIO | None = None,
                 on_waiting: Callable[[], None] | None = None) -> None:
        self.core = core
        self.worker = worker
        self.state = ConsoleSession(user, channel)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        self.on_waiting = on_waiting  # called once, when the console turns out to be in use (the scheduler)
        self._queued = True  # messages may wait from an earlier run; then: something was queued since the drain

    def control(self, line: str) -> str:
        """Apply a `:` control line; returns what to print."""
        word, _sep, rest = line[1:].strip().partition(" ")
        rest = rest.strip()
        with use_locale(self.core.settings.locale):
            if word == "as" and valid_name(rest.lstrip("@")):
                self.state.user = rest.lstrip("@").lower()
                return _("(you are now {user})", user=self.state.user)
            if word == "in" and valid_name(rest.lstrip("#")):
                self.state.channel = rest.lstrip("#")
                self.state.direct = False
                return _("(you are now in #{channel})", channel=self.state.channel)
            if word == "dm" and not rest:
                self.state.direct = True
                return _("(you are now in a private conversation with Cercle)")
            return _("Console controls: :as <user>, :in #<channel>, :dm")

    async def handle_line(self, line: str) -> str | None:
        line = line.strip()
        if not line or line.startswith("#!"):
            return None
        if line.startswith(":"):
            return self.control(line)
        request = Request(actor=Actor(NAME, WORKSPACE, self.state.user, self.state.user),
                          place=self.state.place(), text=line)
        printed = Printed()
        await self.core.answering.answer(request, printed)
        return printed.text

    async def _read(self) -> str:
        reading = asyncio.ensure_future(asyncio.to_thread(self.stdin.readline))
        if self.on_waiting is not None:
            done, _pending = await asyncio.wait({reading}, timeout=WAITING_SECONDS)
            if not done:
                self._in_use()
        return await reading

    def _in_use(self) -> None:
        callback, self.on_waiting = self.on_waiting, None
        if callback is not None:
            callback()

    async def _drain(self) -> None:
        """Show what was sent elsewhere (when something was queued), waiting a few seconds at most."""
        if self._queued:
            self._queued = False
            if not await self.worker.drain(timeout=DRAIN_SECONDS):
                self._queued = True  # still waiting (a retry later): try again after the next line

    def _note_queued(self) -> None:
        self._queued = True

    async def run(self) -> None:
        busy = asyncio.get_running_loop().call_later(BUSY_SECONDS, self._in_use)
        stop_noting = self.core.on_queued(self._note_queued)
        try:
            while True:
                if self.interactive:
                    self.stdout.write(self.state.prompt())
                    self.stdout.flush()
                line = await self._read()
                if not line:
                    break
                out = await self.handle_line(line)
                if out:
                    self.stdout.write(out + "\n")
                    self.stdout.flush()
                await self._drain()  # what the command sent elsewhere, right after its reply
            await self._drain()
        finally:
            stop_noting()
            busy.cancel()
