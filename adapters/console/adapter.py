"""`cercle console`: commands line by line from standard input, replies on standard output.

Lines starting with `:` are console controls (`:as <user>`, `:in #<channel>`, `:dm`). Messages
the bot sends elsewhere are printed as `[#channel] …` or `[dm @user] …`.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TextIO

from bot.commands.router import Router
from bot.events import Actor, Place, Request
from bot.i18n import _, use_locale
from bot.messages import Reply
from bot.outbox import Outgoing
from bot.outbox.worker import DeliveryWorker
from bot.settings import CONSOLE_WORKSPACE

_NAME = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
DRAIN_SECONDS = 5.0


class ConsoleSender:
    """Prints messages meant for other channels and people."""

    platform = "console"

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
            return Place("console", CONSOLE_WORKSPACE, f"dm-{self.user}", name=f"dm @{self.user}", direct=True)
        return Place("console", CONSOLE_WORKSPACE, self.channel, name=f"#{self.channel}")

    def prompt(self) -> str:
        where = "dm" if self.direct else f"#{self.channel}"
        return f"{self.user}@{where}> "


class ConsoleAdapter:
    def __init__(self, router: Router, worker: DeliveryWorker, *, user: str, channel: str,
                 stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.router = router
        self.worker = worker
        self.state = ConsoleSession(user, channel)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()

    def control(self, line: str) -> str:
        """Apply a `:` control line; returns what to print."""
        word, _sep, rest = line[1:].strip().partition(" ")
        rest = rest.strip()
        with use_locale(self.router.settings.locale):
            if word == "as" and _NAME.match(rest.lstrip("@")):
                self.state.user = rest.lstrip("@").lower()
                return _("(you are now {user})", user=self.state.user)
            if word == "in" and _NAME.match(rest.lstrip("#")):
                self.state.channel = rest.lstrip("#")
                self.state.direct = False
                return _("(you are now in #{channel})", channel=self.state.channel)
            if word == "dm" and not rest:
                self.state.direct = True
                return _("(you are now in a private conversation with Cercle)")
            return _("Console controls: :as <user>, :in #<channel>, :dm")

    def render(self, reply: Reply) -> str:
        return reply.message.plain_text()

    async def handle_line(self, line: str) -> str | None:
        line = line.strip()
        if not line or line.startswith("#!"):
            return None
        if line.startswith(":"):
            return self.control(line)
        request = Request(actor=Actor("console", CONSOLE_WORKSPACE, self.state.user, self.state.user),
                          place=self.state.place(), text=line)
        reply = await asyncio.to_thread(self.router.handle, request)
        return self.render(reply) if reply else None

    async def run(self) -> None:
        while True:
            if self.interactive:
                self.stdout.write(self.state.prompt())
                self.stdout.flush()
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            out = await self.handle_line(line)
            if out:
                self.stdout.write(out + "\n")
                self.stdout.flush()
            # Show what the command sent elsewhere right after its reply.
            await self.worker.drain(timeout=DRAIN_SECONDS)
        await self.worker.drain(timeout=DRAIN_SECONDS)
