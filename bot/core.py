"""The narrow interface adapters get instead of the application.

An adapter translates a platform's events into `Request`s and renders replies; everything else it
needs of the core is here: the router (through the answering policy), the settings, the clock, the
engine for its own state, the language rule, who is an administrator, and what the outbox sent. No
adapter imports `bot.app` (the composition root builds a `Core` and hands it to each platform's factory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from bot import identity, workspaces
from bot.answering import Answering
from bot.clock import Clock
from bot.commands.router import Router
from bot.events import Actor
from bot.messages import Message
from bot.outbox import Outbox, sent_message
from bot.outbox.ending import end_pending
from bot.permissions import Role, has_role
from bot.platforms import Platforms
from bot.settings import Settings
from storage.db import session_scope


@dataclass(frozen=True)
class Core:
    settings: Settings
    engine: Engine
    clock: Clock
    router: Router
    platforms: Platforms
    outbox: Outbox  # the application's: queueing through it wakes this application's delivery workers
    answering: Answering = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "answering", Answering(self.router, self.engine, self.settings, self.outbox))

    def on_queued(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (from any thread) whenever this application queues an outgoing message (the
        outbox's wake-up); returns the function that stops it."""
        return self.outbox.notifier.subscribe(listener)

    def locale_of(self, actor: Actor) -> str:
        """The language to speak to someone outside a command (the one rule, `identity.choose_locale`)."""
        return self.answering.locale_of(actor)

    def is_admin(self, platform: str, workspace: str, user_id: str) -> bool:
        """Listed in CERCLE_ADMINS, or holding the admin role (possibly through a linked account)."""
        if any((a.platform, a.workspace, a.user_id) == (platform, workspace, user_id) for a in self.settings.admins):
            return True
        with session_scope(self.engine) as session:
            account = identity.find_account(session, platform, workspace, user_id)
            return account is not None and has_role(session, account.person_id, self.settings, Role.ADMIN)

    def sent_message(self, platform: str, platform_message_id: str) -> Message | None:
        """The message the outbox sent as `platform_message_id` (e.g. to know what its buttons run)."""
        with session_scope(self.engine) as session:
            return sent_message(session, platform, platform_message_id)

    def end_deliveries(self, platform: str, workspace: str, reason: str) -> int:
        """End a workspace's pending deliveries with `reason` (it was uninstalled); how many ended."""
        with session_scope(self.engine) as session:
            return end_pending(session, platform, workspace, reason, self.clock.now())

    def workspace_holdings(self, platform: str, workspace: str) -> dict[str, Any]:
        """What Cercle holds of a workspace (accounts and their persons, channels, outbox and event counts)."""
        with session_scope(self.engine) as session:
            return workspaces.holdings(session, platform, workspace)

    def forget_workspace(self, platform: str, workspace: str) -> dict[str, int]:
        """Delete what Cercle holds of a workspace that left (`bot.workspaces.forget`); the counts."""
        with session_scope(self.engine) as session:
            return workspaces.forget(session, platform, workspace)
