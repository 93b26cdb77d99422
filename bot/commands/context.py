"""What a command handler gets: the caller, the place, the session, and ways to reach others."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import identity
from bot.clock import Clock
from bot.commands import anonymity
from bot.commands.grammar import ChannelRef, UserRef
from bot.errors import Forbidden, NotFound, UserError
from bot.events import Request, UserInfo
from bot.i18n import _, typed_word
from bot.messages import Message
from bot.outbox import Outbox
from bot.permissions import Role, has_role
from bot.places import require_private
from bot.platforms import PlatformDescriptor, Platforms
from bot.settings import Settings
from storage.tables import Account, AuditEntry, Channel, Person

if TYPE_CHECKING:
    from bot.capability import Assembly


@dataclass
class Ctx:
    session: Session
    request: Request
    account: Account
    person: Person
    channel: Channel  # the place the request came from
    settings: Settings
    clock: Clock
    locale: str
    assembly: Assembly  # what this application runs (its registry, digest sections, merge rules...)
    outbox: Outbox  # the application's outbox: messages to others go there
    platforms: Platforms = field(default_factory=Platforms)  # the platforms the application knows
    # Set when the request is anonymous (`bot.commands.anonymity`): the id its record takes.
    anonymous_key: str | None = None

    # -- who and when ----------------------------------------------------------------------------
    @property
    def person_id(self) -> int:
        assert self.person.id is not None
        return self.person.id

    def now(self) -> datetime:
        return self.clock.now()

    def has_role(self, *roles: Role) -> bool:
        return has_role(self.session, self.person_id, self.settings, *roles)

    def require_role(self, *roles: Role) -> None:
        """Refuse unless the caller has one of `roles` (admins have all)."""
        if not self.has_role(*roles):
            names = ", ".join(typed_word(r.value, "role") for r in roles or (Role.ADMIN,))
            raise Forbidden(_("Only people with the {roles} role may do this.", roles=names))

    @property
    def in_direct(self) -> bool:
        return self.request.place.direct

    @property
    def in_private(self) -> bool:
        """Nobody but the caller reads what they typed here (a direct conversation, a Slack slash command
        or modal, the console's `:dm`): see `Request.private`."""
        return self.request.private

    def require_private(self, why: str = "") -> None:
        """Refuse (`bot.places.NotHere`) a command typed where others read it, saying where to type it."""
        require_private(self.in_private, self.platform, why)

    @property
    def platform(self) -> PlatformDescriptor | None:
        """The descriptor of the caller's platform (None for a platform the application does not know)."""
        return self.platforms.get(self.request.place.platform)

    def read_user(self, token: str) -> UserRef | None:
        """A mention written the caller's platform's way; None if `token` is not one."""
        platform = self.platform
        return platform.parse_user(token, self.request.place.workspace) if platform else None

    def read_channel(self, token: str) -> ChannelRef | None:
        """A channel reference written the caller's platform's way; None if `token` is not one."""
        platform = self.platform
        return platform.parse_channel(token, self.request.place.workspace) if platform else None

    # -- resolving references ---------------------------------------------------------------------
    def account_of(self, ref: UserRef) -> Account:
        info = self.request.users.get(ref.user_id) or UserInfo(display_name=ref.label.lstrip("@"))
        return identity.ensure_account(self.session, ref.platform, ref.workspace, ref.user_id, info,
                                       rules=self.assembly.merge_rules)

    def person_of(self, ref: UserRef) -> Person:
        """The person behind a mention (created on first mention, like on first message, once the platform
        confirmed the person exists: a typo or a made-up id creates nobody)."""
        if identity.find_account(self.session, ref.platform, ref.workspace, ref.user_id) is None:
            self._require_confirmed(ref)
        account = self.account_of(ref)
        person = self.session.get(Person, account.person_id)
        assert person is not None
        return person

    def _require_confirmed(self, ref: UserRef) -> None:
        platform = self.platforms.get(ref.platform)
        if platform is None or not platform.confirms_mentions:
            return
        info = self.request.users.get(ref.user_id)
        where = self.platforms.display_name(ref.platform)
        if info is None or info.found is None:
            raise UserError(_("I could not check who {who} is with {platform} just now, so nothing was done. "
                              "Try again in a moment.", who=ref.label[:80], platform=where))
        if not info.found:
            raise NotFound(_("I cannot find {who} on {platform}. Check the mention (pick the person from the "
                             "list as you type); nothing was done.", who=ref.label[:80], platform=where))

    def known_person(self, ref: UserRef) -> Person:
        """The person behind a mention, only if Cercle knows them already: showing someone must not
        create them (a typo would become a person in crisis audiences)."""
        info = self.request.users.get(ref.user_id)
        account = identity.find_known_account(self.session, ref.platform, ref.workspace, ref.user_id,
                                              info.also_known_as if info else ())
        person = self.session.get(Person, account.person_id) if account else None
        if person is None:
            raise NotFound(_("Cercle does not know {who} yet: they have never used it.", who=ref.label[:80]))
        return person

    def channel_of(self, ref: ChannelRef) -> Channel:
        name = self.request.channels.get(ref.channel_id, ref.label)
        return identity.ensure_channel(self.session, ref.platform, ref.workspace, ref.channel_id, name,
                                       also_known_as=self.request.place.also_known_as)

    def name_of(self, person_id: int | None) -> str:
        return identity.display_name(self.session, person_id)

    # -- effects -------------------------------------------------------------------------------------
    def audit(self, action: str, subject: str = "", *, named: bool = True, **details: Any) -> None:
        """Record a change. Never pass confidential text (arguments, anonymous askers) in details.
        `named=False`: the row does not say who did it (a nominee's consent: the row would name them)."""
        self.session.add(AuditEntry(at=self.now(), actor_person_id=self.person_id if named else None, action=action,
                                    subject=subject, details=json.dumps(details, default=str, sort_keys=True)))

    def audit_anonymously(self, action: str, subject: str = "") -> None:
        """Record an anonymous change apart from identified rows: no actor, the hour only, no id order.
        Also what makes the anonymous event once-only."""
        key = self.anonymous_key or anonymity.record_id(None, ())
        anonymity.record(self.session, key, action, subject, self.now())

    def post_to_channel(self, channel: Channel, build: Callable[[], Message], *, subject: str = "",
                        dedupe_key: str | None = None) -> None:
        """Queue a message to a channel, built in the workspace's default language and time zone."""
        self.outbox.send_to_channel(self.session, self.settings, channel, build, subject=subject,
                                    dedupe_key=dedupe_key, now=self.now())

    def refresh(self, key: str) -> None:
        """The live post `key` changed (a vote, an upvote, an acknowledgement): update it in place."""
        self.outbox.refresh(self.session, key, self.now())

    def tell_person(self, person_id: int, build: Callable[[], Message], *, subject: str = "",
                    dedupe_key: str | None = None) -> bool:
        """Queue a private message to a person, built in their language and time zone. False if unreachable."""
        return self.outbox.send_to_person(self.session, self.settings, person_id, build, subject=subject,
                                          dedupe_key=dedupe_key, now=self.now())

