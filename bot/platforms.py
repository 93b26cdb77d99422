"""What the core knows of a chat platform: one descriptor per package under `adapters/`.

Each `adapters/<x>/platform.py` declares its platform once, in a `PLATFORM` descriptor: its name, how
people and channels are written in a command, how its `CERCLE_ADMINS` entries look, which requests are
private to the person typing, its pacing, its settings section, and a factory for its adapter. The
core asks the descriptors (through `Platforms`) and never names a platform itself; the composition
root (`bot/app.py`, `bot/cli.py`) is the only place that lists them.

A descriptor module is light: it must not import the platform's library (or aiohttp) when imported;
its `build` factory imports the adapter when `cercle run` starts the platform.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.commands.grammar import ChannelRef, UserRef
from bot.outbox import RateLimit
from bot.settings import AccountSpec

if TYPE_CHECKING:
    from bot.core import Core
    from bot.events import Request
    from bot.http import HttpServer
    from bot.supervision import PlatformAdapter

__all__ = ["AccountSpec", "PlatformDescriptor", "PlatformSection", "Platforms", "RateLimit"]


class PlatformSection(Protocol):
    """A platform's settings, read from the environment by its descriptor (a frozen dataclass whose
    `repr` hides its secrets)."""

    @property
    def configured(self) -> bool:
        """Its settings are present: `cercle run` starts this platform."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """The secret values (tokens, passwords) the log redactor must remove."""
        ...


Env = Mapping[str, "str | None"]
Factory = Callable[["Core", Any, "HttpServer | None"], "PlatformAdapter"]


@dataclass(frozen=True)
class PlatformDescriptor:
    """One chat platform as the core sees it."""

    name: str  # `Account.platform`, `Place.platform`, the prefix of its CERCLE_ADMINS entries
    display_name: str  # for people ("Slack"); marked with N_() when it needs translating
    parse_user: Callable[[str, str], UserRef | None]  # (token, workspace of the request) -> a mention, or None
    parse_channel: Callable[[str, str], ChannelRef | None]  # likewise for a channel reference
    parse_account: Callable[[str], tuple[str, str]]  # CERCLE_ADMINS text after "name:" -> (workspace, user id)
    account_form: str  # how an entry is written, for error messages: "slack:<team id>:<user id>"
    read_settings: Callable[[Env], PlatformSection]  # raises SettingsError naming the variable
    build: Factory | None = None  # the adapter `cercle run` starts (imports the platform library lazily)
    format_account: Callable[[str, str], str] | None = None  # (workspace, user id) -> text after "name:"
    private_origins: frozenset[str] = frozenset()  # `Request.origin`s nobody else can read (besides direct)
    pacing: RateLimit = field(default_factory=RateLimit)  # the outbox's budget for this platform
    edit_pacing: RateLimit = field(default_factory=RateLimit)  # its budget for updating posts in place
    channel_marks: tuple[str, ...] = ("#",)  # how a channel reference starts ("<#", "!")
    channel_refs_are_ids: bool = True  # a reference names a channel the platform issued (False: a free name)
    command_hint: str = ""  # how a person types a command there, for the README: "Slack: `/cercle <command>`"
    # Where a person types a confidential command so that nobody else reads it (`bot.places`), marked with
    # N_(): the end of the refusal of a command typed in a shared place.
    private_hint: str = ""
    # Functions ("module:function") adding its `cercle` subcommands to the click group, as `Capability.cli`
    # (imported by `bot/cli.py` only, when click needs them).
    cli: tuple[str, ...] = ()
    # The adapter asks the platform about every mention (`UserInfo.found`): a person is created from a mention
    # only when the platform confirmed they exist (a console name is whatever is typed: False there).
    confirms_mentions: bool = False

    def account_text(self, workspace: str, user_id: str) -> str:
        """An account written as in CERCLE_ADMINS."""
        rest = self.format_account(workspace, user_id) if self.format_account else user_id
        return f"{self.name}:{rest}"

    def is_private(self, request: Request) -> bool:
        """Nobody but the person (and the bot) can read what they typed: a direct conversation, or an
        origin this platform keeps private (a Slack slash command or modal)."""
        return request.place.direct or request.origin in self.private_origins


class Platforms:
    """The platforms an application knows, in the order the composition root lists them."""

    def __init__(self, descriptors: Iterable[PlatformDescriptor] = ()) -> None:
        self._by_name: dict[str, PlatformDescriptor] = {}
        for descriptor in descriptors:
            if descriptor.name in self._by_name:
                raise ValueError(f"two platforms are named {descriptor.name!r}")
            self._by_name[descriptor.name] = descriptor

    @classmethod
    def load(cls, modules: Sequence[str]) -> Platforms:
        """The `PLATFORM` descriptor of each module (e.g. "adapters.slack.platform")."""
        return cls(importlib.import_module(name).PLATFORM for name in modules)

    def __iter__(self) -> Iterator[PlatformDescriptor]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> PlatformDescriptor:
        return self._by_name[name]

    def get(self, name: str) -> PlatformDescriptor | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    # -- CERCLE_ADMINS -----------------------------------------------------------------------------
    def parse_account(self, text: str) -> AccountSpec:
        """One `CERCLE_ADMINS` entry (`slack:T1:U2`, `matrix:@a:hs`, ...); ValueError says what is wrong."""
        written = text.strip()
        name, _sep, rest = written.partition(":")
        descriptor = self._by_name.get(name)
        if descriptor is None:
            prefixes = ", ".join(f"{n}:" for n in self._by_name)
            last = prefixes.rpartition(", ")
            listed = f"{last[0]} or {last[2]}" if last[0] else prefixes
            raise ValueError(f"'{text}' does not start with {listed}")
        try:
            workspace, user_id = descriptor.parse_account(rest)
        except ValueError:
            raise ValueError(f"'{text}' is not {descriptor.account_form}") from None
        return AccountSpec(name, workspace, user_id, written=descriptor.account_text(workspace, user_id))

    def account_spec(self, platform: str, workspace: str, user_id: str) -> AccountSpec:
        """An account of a known platform, written as in CERCLE_ADMINS."""
        return AccountSpec(platform, workspace, user_id, written=self[platform].account_text(workspace, user_id))

    # -- what the core asks ---------------------------------------------------------------------------
    def is_private(self, request: Request) -> bool:
        descriptor = self._by_name.get(request.place.platform)
        return descriptor.is_private(request) if descriptor else request.place.direct

    def limits(self) -> dict[str, RateLimit]:
        """The outbox's pacing, by platform."""
        return {d.name: d.pacing for d in self}

    def edit_limits(self) -> dict[str, RateLimit]:
        """The edit worker's pacing, by platform (`bot.outbox.edits`)."""
        return {d.name: d.edit_pacing for d in self}

    def channel_marks(self) -> tuple[str, ...]:
        """How a channel reference starts on any platform (to tell it from a community slug)."""
        return tuple(dict.fromkeys(mark for d in self for mark in d.channel_marks))

    def in_order(self, names: Iterable[str]) -> list[str]:
        """`names` in the composition root's order (unknown ones last)."""
        order = {name: i for i, name in enumerate(self._by_name)}
        return sorted(set(names), key=lambda n: (order.get(n, len(order)), n))

    def display_name(self, name: str) -> str:
        """How people call the platform, in the current language."""
        from bot.i18n import _

        descriptor = self._by_name.get(name)
        return _(descriptor.display_name) if descriptor else name
