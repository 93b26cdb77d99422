"""Capabilities as objects, and the assembly an application runs.

Each capability package declares, in ONE object exported from its `__init__.py` (`CAPABILITY`), what it
adds to Cercle: the modules holding its `@command` handlers, `@periodic` jobs and `@on_start` hooks, its
help groups and other-language command words, its digest sections, its home sections, its rule for merging two
persons, its part of a person's data export, its `cercle` subcommands, and who may still receive its private
messages (its delivery guards). Importing a module registers nothing:
`assemble(capabilities)` builds an `Assembly` (the command registry, the jobs and hooks, the digest
sections, the merge rules, the exporters), and the application (`bot.app.build`) runs what its assembly
holds. Tests assemble what they need, afresh: there is no global registry to reset.

References to code are written "package.module" (modules) or "package.module:attribute", so that a
capability's `__init__.py` stays light and its `cercle` subcommands (which import click) are imported by
`bot/cli.py` only. An object may be given instead of a reference (tests do).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.app import Application
    from bot.commands.registry import Registry
    from bot.digest_sections import DigestSection
    from bot.home_sections import HomeSection
    from bot.identity import MergeRule
    from bot.outbox.guard import Guards
    from bot.personal_data import PersonPart
    from bot.scheduler import PeriodicJob, StartupHook
    from bot.settings import Settings

CliRegistrar = Callable[[Any], None]  # receives the `cercle` click group and adds its subcommands


class CommandLine(Protocol):
    """What `cercle` (the composition root, `bot/cli.py`) gives the subcommands it adds but does not
    define (the capabilities', `cercle db backup`): click's context object (`@click.pass_obj`). Through it
    they read the settings and build the application without importing the composition root."""

    def settings(self) -> Settings:
        """The settings (every platform's section too); a wrong one ends the command with its message."""
        ...

    def application(self) -> Application:
        """The application built from the settings (database migrated), as `cercle run` builds it."""
        ...


@dataclass(frozen=True)
class Capability:
    """What one capability adds to Cercle, declared in one place."""

    name: str
    # Modules whose `@command` handlers, `@periodic` jobs and `@on_start` hooks belong to it.
    modules: tuple[str, ...] = ()
    # Help groups, (id, N_(title)), shown in this order; a command names its group (default: its first word).
    groups: tuple[tuple[str, str], ...] = ()
    # Other-language command words, (word, canonical word); a word keeps one meaning across capabilities.
    aliases: tuple[tuple[str, str], ...] = ()
    # Its sections of community digests (`bot.digest_sections.DigestSection`).
    digest_sections: tuple[str | DigestSection, ...] = ()
    # Its sections of a person's home, "what is waiting for me" (`bot.home_sections.HomeSection`).
    home_sections: tuple[str | HomeSection, ...] = ()
    # Run when two persons become one, before the core moves every person column: settles its
    # one-row-per-person rules (`bot.identity.MergeRule`).
    merge_rule: str | MergeRule | None = None
    # Its part of a person's own data (`bot.personal_data.PersonPart`).
    export: str | PersonPart | None = None
    # Functions adding its `cercle` subcommands to the click group (imported by `bot/cli.py` only).
    cli: tuple[str | CliRegistrar, ...] = ()
    # Commands (a name or its first words: "nomination" covers "nomination show") whose answers are for the
    # caller's eyes only (`Reply.confidential`): a platform never shows them where others read.
    confidential: tuple[str, ...] = ()
    # Commands that may act anonymously, (canonical name, "module:function"): the function gets the session
    # and the bound arguments and says whether this request is anonymous; the router then keeps it apart
    # from every row that names a person (`bot.commands.anonymity`).
    anonymous: tuple[tuple[str, Any], ...] = ()
    # Commands (likewise) that may be typed only where nobody else reads them (`bot.places`): from a shared
    # place they are refused before anything is read, with a reply saying where to type them.
    typed_in_private: tuple[str, ...] = ()
    # Live posts it updates in place: (key kind, `bot.outbox.live.LiveView`), e.g. ("consultation", ref).
    live: tuple[tuple[str, Any], ...] = ()
    # Who may still receive its private messages, asked just before each is sent: (subject prefix,
    # `bot.outbox.guard.DeliveryGuard`), e.g. ("nomination:", "bot.referrals.guard:may_receive").
    delivery_guards: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Assembly:
    """Everything an application runs, built from its capabilities."""

    capabilities: tuple[Capability, ...]
    registry: Registry
    jobs: tuple[PeriodicJob, ...]
    startup: tuple[StartupHook, ...]
    digest_sections: tuple[DigestSection, ...]
    merge_rules: tuple[MergeRule, ...]
    exporters: tuple[PersonPart, ...]
    confidential: frozenset[str] = frozenset()
    anonymous: tuple[tuple[str, Any], ...] = ()
    typed_in_private: frozenset[str] = frozenset()
    home_sections: tuple[HomeSection, ...] = ()

    def is_anonymous(self, session: Any, command: str, arguments: dict[str, Any]) -> bool:
        """Whether this request of `command` is an anonymous one (an anonymous question, a secret vote)."""
        return any(name == command and resolve(ref)(session, arguments) for name, ref in self.anonymous)

    def is_confidential(self, command: str) -> bool:
        """Whether the answers of `command` (its canonical name) are for the caller's eyes only."""
        return _covers(self.confidential, command)

    def is_typed_in_private(self, command: str) -> bool:
        """Whether `command` (its canonical name) may be typed only in a place private to the person."""
        return _covers(self.typed_in_private, command)

    def live_views(self) -> dict[str, Any]:
        """The capabilities' live post views by key kind (`bot.outbox.live`); a kind declared twice is an error."""
        views: dict[str, Any] = {}
        for cap in self.capabilities:
            for kind, ref in cap.live:
                if kind in views:
                    raise ValueError(f"live post kind declared twice: {kind}")
                views[kind] = resolve(ref)
        return views

    def delivery_guards(self, settings: Settings) -> Guards:
        """The capabilities' delivery guards (`bot.outbox.guard`), for the delivery worker."""
        from bot.outbox.guard import Guards

        return Guards(((prefix, resolve(ref)) for cap in self.capabilities for prefix, ref in cap.delivery_guards),
                      settings)

    def cli(self) -> list[CliRegistrar]:
        """The capabilities' `cercle` subcommand registrars (imports them: for `bot/cli.py` only)."""
        return [resolve(ref) for cap in self.capabilities for ref in cap.cli]


def _covers(names: frozenset[str], command: str) -> bool:
    """`command` is one of `names`, or starts with one ("nomination" covers "nomination show")."""
    words = command.split()
    return any(" ".join(words[:n]) in names for n in range(1, len(words) + 1))


def resolve(ref: Any) -> Any:
    """The object a reference names ("package.module:attribute"), or the object itself."""
    if not isinstance(ref, str):
        return ref
    module, sep, attribute = ref.partition(":")
    if not sep or not attribute:
        raise ValueError(f"not a reference like package.module:attribute: {ref!r}")
    return getattr(importlib.import_module(module), attribute)


def _declared(module: ModuleType) -> list[Any]:
    """The functions defined in `module` itself, in the order they are written (each once)."""
    seen: set[int] = set()
    found = []
    for value in vars(module).values():
        if callable(value) and getattr(value, "__module__", None) == module.__name__ and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    return found


def assemble(capabilities: Iterable[Capability]) -> Assembly:
    """Build the registry, jobs, hooks, digest sections, merge rules and exporters of `capabilities`,
    in their order (which is the order of help). Declaring something twice is an error."""
    from bot.commands.registry import Registry, commands_of
    from bot.scheduler import is_startup_hook, periodic_job_of

    caps = tuple(capabilities)
    names = [c.name for c in caps]
    if len(set(names)) != len(names):
        raise ValueError(f"a capability is listed twice: {names}")
    registry = Registry()
    jobs: dict[str, PeriodicJob] = {}
    startup: list[StartupHook] = []
    for cap in caps:
        for group_id, title in cap.groups:
            registry.group(group_id, title)
        for module_name in cap.modules:
            for value in _declared(importlib.import_module(module_name)):
                for cmd in commands_of(value):
                    registry.add(cmd)
                job = periodic_job_of(value)
                if job is not None:
                    if job.name in jobs:
                        raise ValueError(f"periodic job declared twice: {job.name}")
                    jobs[job.name] = job
                if is_startup_hook(value):
                    startup.append(value)
        for word, canonical in cap.aliases:
            registry.alias(word, canonical)
    sections = sorted((resolve(ref) for cap in caps for ref in cap.digest_sections), key=lambda s: s.order)
    keys = [s.key for s in sections]
    if len(set(keys)) != len(keys):
        raise ValueError(f"a digest section is declared twice: {keys}")
    home = sorted((resolve(ref) for cap in caps for ref in cap.home_sections), key=lambda s: s.order)
    home_keys = [s.key for s in home]
    if len(set(home_keys)) != len(home_keys):
        raise ValueError(f"a home section is declared twice: {home_keys}")
    return Assembly(
        capabilities=caps,
        registry=registry,
        jobs=tuple(jobs.values()),
        startup=tuple(startup),
        digest_sections=tuple(sections),
        merge_rules=tuple(resolve(c.merge_rule) for c in caps if c.merge_rule is not None),
        exporters=tuple(resolve(c.export) for c in caps if c.export is not None),
        confidential=frozenset(name for c in caps for name in c.confidential),
        anonymous=tuple(pair for c in caps for pair in c.anonymous),
        typed_in_private=frozenset(name for c in caps for name in c.typed_in_private),
        home_sections=tuple(home),
    )
