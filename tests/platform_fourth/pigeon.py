"""Pigeon post: a minimal chat platform. People are `~name`, lofts (channels) are `%name`; a whisper is
private, anything said in a loft is read by everyone there. What the bot sends is kept in lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.answering import Responder
from bot.commands.grammar import ChannelRef, UserRef
from bot.core import Core
from bot.events import Actor, Place, Request
from bot.http import HttpServer
from bot.messages import Reply
from bot.outbox import Outgoing
from bot.platforms import PlatformDescriptor, RateLimit
from bot.settings import SettingsError, read_env
from bot.supervision import PlatformAdapter

NAME = "pigeon"
WORKSPACE = "dovecote"
_NAME = re.compile(r"^[a-z]{1,20}$")


@dataclass(frozen=True)
class PigeonSettings:
    loft: str | None = None  # PIGEON_LOFT: where the bot lives; set means configured

    @property
    def configured(self) -> bool:
        return self.loft is not None

    def secrets(self) -> tuple[str, ...]:
        return ()


def read_settings(env: Mapping[str, str | None]) -> PigeonSettings:
    loft = read_env(env, "PIGEON_LOFT")
    if loft is not None and not _NAME.match(loft):
        raise SettingsError("PIGEON_LOFT", f"'{loft}' is not a loft name")
    return PigeonSettings(loft)


def parse_user(token: str, workspace: str) -> UserRef | None:
    return UserRef(NAME, WORKSPACE, token[1:], token) if token[:1] == "~" and _NAME.match(token[1:]) else None


def parse_channel(token: str, workspace: str) -> ChannelRef | None:
    return ChannelRef(NAME, WORKSPACE, token[1:], token) if token[:1] == "%" and _NAME.match(token[1:]) else None


def parse_account(rest: str) -> tuple[str, str]:
    if not _NAME.match(rest):
        raise ValueError(rest)
    return WORKSPACE, rest


@dataclass
class Sent:
    target_kind: str
    target_id: str
    text: str


class ListSender:
    """The outbox's sender: what goes out is appended to a list."""

    platform = NAME

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(self, item: Outgoing) -> str:
        self.sent.append(Sent(item.target_kind, item.target_id, item.message.plain_text()))
        return f"pigeon-{item.id}"


class Beak:
    """A responder: who saw which answer."""

    def __init__(self, shown: list[tuple[str, str]], user: str, loft: str) -> None:
        self.shown, self.user, self.loft = shown, user, loft

    async def to_actor(self, reply: Reply, locale: str) -> None:
        self.shown.append((f"~{self.user}", reply.message.plain_text()))

    async def to_place(self, reply: Reply, locale: str) -> None:
        self.shown.append((f"%{self.loft}", reply.message.plain_text()))


class PigeonAdapter:
    name = NAME

    def __init__(self, core: Core, settings: PigeonSettings) -> None:
        self.core = core
        self.settings = settings
        self.sender = ListSender()
        self.shown: list[tuple[str, str]] = []  # (~person or %loft, text) of every answer shown
        self.running = False

    async def hear(self, user: str, text: str, *, loft: str = "", whisper: bool = False) -> Reply | None:
        """`user` says `text` in a loft, or whispers it to the bot (`loft` empty: their own nest with the bot)."""
        where = loft or f"nest-{user}"
        place = Place(NAME, WORKSPACE, where, name=f"%{where}", direct=not loft)
        request = Request(Actor(NAME, WORKSPACE, user, user), place, text, origin="whisper" if whisper else "say")
        beak: Responder = Beak(self.shown, user, where)
        return await self.core.answering.answer(request, beak)

    async def start(self) -> None:
        self.running = True

    async def stop(self) -> None:
        self.running = False

    async def health(self) -> tuple[bool, str]:
        return self.running, f"loft {self.settings.loft}"


def build(core: Core, section: PigeonSettings, http: HttpServer | None) -> PlatformAdapter:
    return PigeonAdapter(core, section)


PLATFORM = PlatformDescriptor(
    name=NAME, display_name="Pigeon post", parse_user=parse_user, parse_channel=parse_channel,
    parse_account=parse_account, account_form="pigeon:<name>", read_settings=read_settings, build=build,
    private_origins=frozenset({"whisper"}), pacing=RateLimit(per_target=0.0, per_second=50.0),
    channel_marks=("%",), command_hint="Pigeon post: `<command>`",
)
