"""The core's entrance: a `Request` in, a `Reply` out, for every platform.

The router records who asked and where, skips events it has already handled, parses the
text with the one grammar, runs the command in a savepoint (so an error changes nothing),
and answers errors privately with the usage line. No traceback ever reaches a user.
"""

from __future__ import annotations

import difflib
import logging
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot import identity, metrics
from bot.clock import Clock, SystemClock
from bot.commands import anonymity
from bot.commands.cleantext import NUL, normalise
from bot.commands.context import Ctx
from bot.commands.grammar import ParseError, Token, tokenize
from bot.commands.registry import Command, ConvertEnv, Registry
from bot.errors import UserError
from bot.events import Request
from bot.i18n import _, fold, use_locale
from bot.messages import Reply
from bot.outbox import Outbox
from bot.places import NotHere, refusal
from bot.platforms import Platforms
from bot.settings import Settings
from storage.db import session_scope
from storage.tables import Person, ProcessedEvent

if TYPE_CHECKING:
    from bot.capability import Assembly

log = logging.getLogger(__name__)

MAX_COMMAND_LENGTH = 4000


@dataclass(frozen=True)
class Outcome:
    """What handling produced: the reply (None for an event seen before) and the command's name."""

    reply: Reply | None
    command: str = ""
    internal_error: bool = False  # an unexpected exception (logged with a reference), not a user error
    locale: str = ""  # the language the reply was built in (the caller's): adapters render it in the same
    anonymous: bool = False  # an anonymous request: not counted in the per-command metrics (a scrape would time it)


class Router:
    """Runs requests against the commands of one assembly, for the platforms the application knows;
    what they queue goes to `outbox`."""

    def __init__(self, engine: Engine, settings: Settings, assembly: Assembly, *, clock: Clock | None = None,
                 outbox: Outbox | None = None, platforms: Platforms | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.assembly = assembly
        self.registry = assembly.registry
        self.platforms = platforms or Platforms()
        self.clock = clock or SystemClock()
        self.outbox = outbox or Outbox()

    def handle(self, request: Request) -> Reply | None:
        """Handle one request; None when the event was already handled (a retry or a replay)."""
        return self.handle_outcome(request).reply

    def handle_outcome(self, request: Request) -> Outcome:
        # Whether the place is private is the platform's to say, never the adapter's.
        request = replace(request, private=self.platforms.is_private(request))
        started = time.perf_counter()
        name, outcome, counted = "unknown", "error", True
        try:
            for attempt in range(3):
                try:
                    result = self._handle_once(request)
                    break
                except (identity.AccountRaced, IntegrityError, OperationalError) as exc:
                    # Two requests creating the same person or channel at once, or a lock timeout: retry.
                    if attempt == 2:
                        raise
                    log.info("retrying request after %s", type(exc).__name__)
            name, counted = result.command or "unknown", not result.anonymous
            if result.reply is None:
                outcome = "duplicate"
            elif result.reply.is_error:
                outcome = "user_error"
            else:
                outcome = "ok"
            return result
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("request failed (ref %s, platform %s)", ref, request.place.platform)
            with use_locale(identity.platform_locale(request.actor.locale) or self.settings.locale) as locale:
                return Outcome(Reply.error(_("Something went wrong on our side and nothing was changed. "
                                             "Please try again; if it persists, give this reference to "
                                             "an administrator: {ref}.", ref=ref)), internal_error=True,
                               locale=locale)
        finally:
            if counted:
                metrics.observe_command(name, outcome, time.perf_counter() - started)

    def _handle_once(self, request: Request) -> Outcome:
        now = self.clock.now()
        keys = self.settings.secret_keys
        with session_scope(self.engine) as session:
            anonymous = self._anonymous(session, request, now)
            if request.event_key and (session.get(ProcessedEvent, request.event_key) is not None
                                      or anonymity.seen(session, request.event_key, keys)):
                return Outcome(None)
            # An anonymous request leaves no trace of its caller's activity at its instant (bot.commands.anonymity).
            account = identity.account_for_actor(session, request.actor, None if anonymous else now,
                                                 self.assembly.merge_rules)
            person = session.get(Person, account.person_id)
            assert person is not None
            channel = identity.channel_for_place(session, request.place)
            locale = identity.person_locale(session, person, self.settings.locale)
            zone = identity.person_zone(session, person, self.settings.timezone)
            if anonymous:
                session.commit()  # what identifying the caller wrote goes in a transaction of its own
            elif request.event_key:
                session.add(ProcessedEvent(key=request.event_key, at=now))
                session.flush()
            ctx = Ctx(session=session, request=request, account=account, person=person, channel=channel,
                      settings=self.settings, clock=self.clock, locale=locale, assembly=self.assembly,
                      outbox=self.outbox, platforms=self.platforms,
                      anonymous_key=anonymity.record_id(request.event_key, keys) if anonymous else None)
            with use_locale(locale, zone=zone):
                outcome = replace(self._dispatch(ctx, session), locale=locale)
            if anonymous and outcome.reply is not None:  # shown at once or not at all, never queued to the caller
                outcome = replace(outcome, reply=replace(outcome.reply, traceable=False), anonymous=True)
            return outcome

    def _command_words(self, tokens: list[Token]) -> list[str]:
        words: list[str] = []
        for token in tokens[:3]:
            if token.quoted or token.is_option:
                break
            words.append(token.text)
        return words

    def _anonymous(self, session: Session, request: Request, now: datetime) -> bool:
        """Whether the request is one its command declares anonymous (read before anything is written)."""
        if not self.assembly.anonymous:
            return False
        try:
            tokens = tokenize(request.text.strip()[:MAX_COMMAND_LENGTH + 1])
        except ParseError:
            return False
        command, used = self.registry.lookup(self._command_words(tokens))
        if command is None or all(name != command.name for name, _ref in self.assembly.anonymous):
            return False
        env = ConvertEnv(self.platforms.get(request.place.platform), request.place.workspace, now,
                         self.settings.timezone)
        try:
            arguments = command.bind(tokens[used:], env)
        except UserError:
            return False
        return self.assembly.is_anonymous(session, command.name, arguments)

    def _dispatch(self, ctx: Ctx, session: Session) -> Outcome:
        text = normalise(ctx.request.text).strip()
        if NUL in text:  # PostgreSQL cannot store it: refused here, before any argument reaches a table
            return Outcome(Reply.error(_("This command contains a NUL character (U+0000), which Cercle does not "
                                         "accept. Type it again without it.")))
        if len(text) > MAX_COMMAND_LENGTH:
            return Outcome(Reply.error(_("This command is too long ({n} characters; at most {max}).",
                                         n=len(text), max=MAX_COMMAND_LENGTH)))
        try:
            tokens = tokenize(text)
        except ParseError as exc:
            return Outcome(Reply.error(str(exc)))
        if not tokens:
            tokens = tokenize("help")
        words = self._command_words(tokens)
        command, used = self.registry.lookup(words)
        if command is None:
            return Outcome(self._unknown(words or [tokens[0].text]))
        env = ConvertEnv(ctx.platform, ctx.request.place.workspace, ctx.now(), self.settings.timezone)
        try:
            if self.assembly.is_typed_in_private(command.name) and not ctx.in_private:
                raise refusal(ctx.platform)  # before reading anything: no lookup answers where others read
            with session.begin_nested():
                kwargs = command.bind(tokens[used:], env)
                reply = command.handler(ctx, **kwargs)
        except UserError as exc:
            # What was wrong, to the caller only; the usage line only when the usage was wrong.
            reply = Reply.error(exc.message, self.usage_line(command) if exc.show_usage else "")
            if isinstance(exc, NotHere):  # shown where only the caller reads (Matrix: their direct room)
                reply = replace(reply, confidential=True)
        if self.assembly.is_confidential(command.name) and not reply.confidential:
            reply = replace(reply, confidential=True)
        return Outcome(reply, command.name)

    def usage_line(self, command: Command) -> str:
        return _("Usage: {usage}", usage=_(command.usage))

    def _unknown(self, words: list[str]) -> Reply:
        """No command by these words: the group's commands when the first word starts some (with a guess
        at the mistyped second word), else a guess at the first word."""
        word = words[0]
        group = self.registry.with_prefix(word)
        if group:
            lines = "\n".join(_(c.usage) for c in group)
            if len(words) < 2:
                return Reply.error(_("'{word}' needs a subcommand. Try one of:", word=word[:40]), lines)
            message = _("'{word} {sub}' is not a command.", word=word[:40], sub=words[1][:40])
            close = _close(words[1], _next_words(self.registry, group))
            hint = _("Did you mean '{word}'?", word=f"{word} {close}") if close else ""
            return Reply.error(f"{message} {hint}".strip(), _("Its commands:") + "\n" + lines)
        names = sorted({c.path[0] for c in self.registry.commands.values()} | set(self.registry.aliases))
        close = _close(word, names)
        hint = _("Did you mean '{word}'?", word=close) if close else ""
        message = _("Unknown command '{word}'.", word=word[:40])
        return Reply.error(f"{message} {hint}".strip(), _("Type help to see every command."))


def _next_words(registry: Registry, group: list[Command]) -> list[str]:
    """The words that may follow a group's first word (`community` → create, list, ...), with their aliases."""
    nexts = {c.path[1] for c in group if len(c.path) > 1}
    return sorted(nexts | {alias for alias, canonical in registry.aliases.items() if canonical in nexts})


def _close(word: str, candidates: list[str]) -> str | None:
    """The candidate closest to a mistyped word (accents and case aside), if one is close enough."""
    folded = {fold(c): c for c in candidates}
    found = difflib.get_close_matches(fold(word), list(folded), n=1, cutoff=0.6)
    return folded[found[0]] if found else None
