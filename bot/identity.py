"""Accounts, persons and channels: the one identity model (design §3).

Every account belongs to a person; a person may join a Slack and a Matrix account with a
one-time code (`profile link`), after which roles, skills, memberships, votes and
acknowledgements are one person's.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot.commands.cleantext import clean_name
from bot.events import Actor, Place, UserInfo
from bot.settings import SUPPORTED_LOCALES
from storage.db import affected
from storage.tables import (
    Account,
    AuditEntry,
    Channel,
    LinkCode,
    Person,
    PersonSkill,
    RoleGrant,
)

LINK_CODE_VALIDITY = timedelta(minutes=10)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def platform_locale(raw: str | None) -> str | None:
    """Map a platform's locale (`fr-FR`, `fr`, `en-US`) to a supported language, or None."""
    if not raw:
        return None
    lang = raw.replace("_", "-").split("-")[0].lower()
    return lang if lang in SUPPORTED_LOCALES else None


def find_account(session: Session, platform: str, workspace: str, user_id: str) -> Account | None:
    return session.exec(select(Account).where(Account.platform == platform, Account.workspace == workspace,
                                              Account.user_id == user_id)).first()


def find_known_account(session: Session, platform: str, workspace: str, user_id: str,
                       aliases: Iterable[tuple[str, str]] = ()) -> Account | None:
    """The account, else the oldest one kept under one of its former keys (see `ensure_account`)."""
    found = find_account(session, platform, workspace, user_id)
    if found is None:
        earlier = _alias_accounts(session, platform, tuple(aliases)[:MAX_ALIASES])
        found = earlier[0] if earlier else None
    return found


def ensure_account(session: Session, platform: str, workspace: str, user_id: str,
                   info: UserInfo | None = None, seen_at: datetime | None = None,
                   rules: Iterable[MergeRule] = ()) -> Account:
    """The account (and its person), created on first sight. Updates the display name and locale (a name
    without control or bidirectional characters: PostgreSQL refuses NUL, and lists must read right).
    The keys in `info.also_known_as` are the same account as the platform keyed it before: they are made
    accounts of the same person (persons found under them are merged with `rules`, see `join_aliases`)."""
    if info and info.display_name:
        info = replace(info, display_name=clean_name(info.display_name)[:200])
    aliases = tuple(info.also_known_as if info else ())[:MAX_ALIASES]
    account = find_account(session, platform, workspace, user_id)
    if account is None:
        name = (info.display_name if info else "") or user_id
        with session.begin_nested():
            earlier = _alias_accounts(session, platform, aliases)
            person = session.get(Person, earlier[0].person_id) if earlier else None
            if person is None:
                person = Person(display_name=name)
                session.add(person)
                session.flush()
            account = Account(platform=platform, workspace=workspace, user_id=user_id, display_name=name,
                              platform_locale=platform_locale(info.locale if info else None),
                              platform_timezone=platform_zone(info.timezone if info else None),
                              person_id=person.id or 0, last_seen_at=seen_at)
            session.add(account)
            try:
                session.flush()
            except IntegrityError:
                raise _Raced() from None
        if aliases:
            join_aliases(session, account, aliases, rules)
        return account
    if info:
        if info.display_name and not info.guessed and info.display_name != account.display_name:
            previous = account.display_name
            account.display_name = info.display_name
            owner = session.get(Person, account.person_id)
            # A person's name follows the platform's unless it came from elsewhere (another account).
            if owner and owner.display_name in ("", account.user_id, previous):
                owner.display_name = info.display_name
        loc = platform_locale(info.locale)
        if loc and loc != account.platform_locale:
            account.platform_locale = loc
        zone = platform_zone(info.timezone)
        if zone and zone != account.platform_timezone:
            account.platform_timezone = zone
    if seen_at:
        account.last_seen_at = seen_at
    if aliases:
        join_aliases(session, account, aliases, rules)
    return account


MAX_ALIASES = 20


def _alias_accounts(session: Session, platform: str, aliases: Iterable[tuple[str, str]]) -> list[Account]:
    """The accounts kept under the given (workspace, user id) keys, oldest first."""
    keys = [and_(col(Account.workspace) == w, col(Account.user_id) == u) for w, u in aliases]
    if not keys:
        return []
    return list(session.exec(select(Account).where(Account.platform == platform, or_(*keys))
                             .order_by(col(Account.id))))


def join_aliases(session: Session, account: Account, aliases: Iterable[tuple[str, str]],
                 rules: Iterable[MergeRule] = ()) -> None:
    """Make every alias key an account of `account`'s person: a person found under one is merged into it
    (one person, one vote, one acknowledgement), a key never seen gets an account row, so that an entry
    written with the old key (CERCLE_ADMINS) and a request that still carries it find the same person."""
    aliases = [(w, u) for w, u in aliases if (w, u) != (account.workspace, account.user_id)]
    if not aliases:
        return
    found = _alias_accounts(session, account.platform, aliases)
    for other in found:
        if other.person_id != account.person_id:
            merge_persons(session, keep_id=account.person_id, drop_id=other.person_id, rules=rules)
    known = {(a.workspace, a.user_id) for a in found}
    for workspace, user_id in aliases:
        if (workspace, user_id) not in known:
            with session.begin_nested():
                session.add(Account(platform=account.platform, workspace=workspace, user_id=user_id,
                                    display_name=account.display_name, platform_locale=account.platform_locale,
                                    person_id=account.person_id))
                try:
                    session.flush()
                except IntegrityError:
                    raise _Raced() from None


class _Raced(Exception):
    """Another request created the same account at the same moment; the caller retries."""


AccountRaced = _Raced


def account_for_actor(session: Session, actor: Actor, seen_at: datetime | None,
                      rules: Iterable[MergeRule] = ()) -> Account:
    return ensure_account(session, actor.platform, actor.workspace, actor.user_id,
                          UserInfo(actor.display_name, actor.locale, actor.timezone, actor.also_known_as,
                                   guessed=actor.name_guessed), seen_at, rules)


def ensure_channel(session: Session, platform: str, workspace: str, channel_id: str, name: str = "",
                   direct: bool = False, also_known_as: Iterable[str] = ()) -> Channel:
    """The channel row, created on first sight. A row kept under one of `also_known_as` (the workspaces
    that keyed this same channel before) is re-keyed to `workspace`: one place, one link, one broadcast."""
    name = clean_name(name)
    channel = session.exec(select(Channel).where(Channel.platform == platform, Channel.workspace == workspace,
                                                 Channel.channel_id == channel_id)).first()
    former = [w for w in also_known_as if w != workspace][:MAX_ALIASES]
    if channel is None and former and channel_id:
        channel = session.exec(select(Channel).where(Channel.platform == platform, Channel.channel_id == channel_id,
                                                     col(Channel.workspace).in_(former))
                               .order_by(col(Channel.id))).first()
        if channel is not None:
            channel.workspace = workspace
            session.flush()
    if channel is None:
        with session.begin_nested():
            channel = Channel(platform=platform, workspace=workspace, channel_id=channel_id, name=name,
                              direct=direct)
            session.add(channel)
            try:
                session.flush()
            except IntegrityError:
                raise _Raced() from None
    elif name and name != channel.name:
        channel.name = name
    return channel


def channel_for_place(session: Session, place: Place) -> Channel:
    channel = ensure_channel(session, place.platform, place.workspace, place.channel_id, place.name, place.direct,
                             place.also_known_as)
    if place.direct and not channel.direct:
        channel.direct = True
    return channel


def choose_locale(person: Person | None, accounts: Iterable[Account], default: str) -> str:
    """The one rule for the language Cercle speaks to someone: the language they chose, else the first
    their platforms gave (oldest account first), else the default. Every reply, adapter message and
    scheduled job asks this (through `person_locale` or `account_locale` when rows are not loaded)."""
    if person is not None and person.locale in SUPPORTED_LOCALES:
        return person.locale
    for account in sorted(accounts, key=lambda a: a.id or 0):
        if account.platform_locale in SUPPORTED_LOCALES:
            return account.platform_locale
    return default


def platform_zone(value: str | None) -> str | None:
    """A zone a platform gave, as its IANA name; None when it is not one."""
    from bot.i18n.formats import zone_name

    return zone_name(value[:64]) if value else None


def choose_zone(person: Person | None, accounts: Iterable[Account], default: str) -> str:
    """The one rule for the zone Cercle shows times in and keeps quiet hours by: the person's own setting
    (`profile timezone`), else the zone their most recently used platform gives, else the default."""
    if person is not None and person.timezone:
        return person.timezone
    given = [a for a in accounts if a.platform_timezone]
    latest = choose_account(given)
    return latest.platform_timezone or default if latest else default


def person_zone(session: Session, person: Person, default: str) -> str:
    """The person's zone (`choose_zone`), reading their accounts."""
    if person.timezone:
        return person.timezone
    return choose_zone(person, session.exec(select(Account).where(Account.person_id == person.id)), default)


def person_locale(session: Session, person: Person, default: str) -> str:
    """The person's chosen language, else their platform's, else the default."""
    return choose_locale(person, session.exec(select(Account).where(Account.person_id == person.id)), default)


def account_locale(session: Session, platform: str, workspace: str, user_id: str, default: str,
                   hint: str | None = None) -> str:
    """The language to speak to the owner of an account (outside a command: forms, notices); for an
    account never seen, what its platform says (`hint`, e.g. `fr-FR`), else the default."""
    account = find_account(session, platform, workspace, user_id)
    person = session.get(Person, account.person_id) if account else None
    if person is None:
        return platform_locale(hint) or default
    return person_locale(session, person, default)


def choose_account(accounts: Iterable[Account]) -> Account | None:
    """Where to reach a person privately: the account they used most recently."""
    return max(accounts, key=lambda a: (a.last_seen_at is not None, a.last_seen_at or datetime.min, a.id or 0),
               default=None)


def display_name(session: Session, person_id: int | None, missing: str = "?") -> str:
    """How a person is named in replies and exports (`missing` when there is no such person)."""
    person = session.get(Person, person_id) if person_id is not None else None
    return person.display_name if person else missing


def preferred_account(session: Session, person_id: int) -> Account | None:
    """Where to reach a person privately: the account they used most recently."""
    return choose_account(session.exec(select(Account).where(Account.person_id == person_id)))


def new_link_code(session: Session, account: Account, now: datetime) -> str:
    """A one-time code, valid 10 minutes, that joins another account to this one's person."""
    for _attempt in range(5):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
        if session.get(LinkCode, code) is None:
            session.add(LinkCode(code=code, account_id=account.id or 0, expires_at=now + LINK_CODE_VALIDITY))
            session.flush()
            return code
    raise RuntimeError("could not draw a unique link code")


class LinkProblem(Exception):
    """Why a link code was refused: 'unknown', 'expired', 'used', 'same-platform', 'same-person', or
    'nothing' (a confirmation with no link waiting for this account)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def claim_link_code(session: Session, code: str, account: Account, now: datetime) -> Account:
    """Step 2 of 4: `account` (B) typed the code of another account (A). Nothing is joined yet: B is shown
    A's identity and confirms, then A confirms (`confirm_link`). Returns A's account. The code is B's from
    now on (another account typing it is told it was used), for LINK_CODE_VALIDITY more."""
    row = session.get(LinkCode, code.strip().upper())
    if row is None:
        raise LinkProblem("unknown")
    if row.used_at is not None or (row.claimed_by is not None and row.claimed_by != account.id):
        raise LinkProblem("used")
    if row.expires_at < now:
        raise LinkProblem("expired")
    origin = session.get(Account, row.account_id)
    if origin is None:
        raise LinkProblem("unknown")
    if origin.person_id == account.person_id:
        raise LinkProblem("same-person")
    if origin.platform == account.platform and origin.workspace == account.workspace:
        raise LinkProblem("same-platform")
    claimed = affected(session, update(LinkCode).where(col(LinkCode.code) == row.code, col(LinkCode.used_at).is_(None),
                                                       col(LinkCode.claimed_by).is_(None) | (col(LinkCode.claimed_by)
                                                                                             == account.id))
                       .values(claimed_by=account.id, claimed_at=now, confirmed_at=None,
                               expires_at=now + LINK_CODE_VALIDITY))
    if claimed != 1:
        raise LinkProblem("used")
    return origin


def confirm_link(session: Session, account: Account, now: datetime, rules: Iterable[MergeRule] = (),
                 ) -> tuple[bool, Account]:
    """Steps 3 and 4: `account` confirms the link waiting for it. The account that typed the code confirms
    first (returns (False, the code's account), to be asked next); the code's account confirms last, which
    joins the two persons (returns (True, the other account)). LinkProblem("nothing") when no link waits."""
    live = (col(LinkCode.used_at).is_(None), col(LinkCode.expires_at) >= now)
    typed = session.exec(select(LinkCode).where(LinkCode.claimed_by == account.id,
                                                col(LinkCode.confirmed_at).is_(None), *live)).first()
    if typed is not None:
        origin = session.get(Account, typed.account_id)
        if origin is None or origin.person_id == account.person_id:
            raise LinkProblem("nothing")
        typed.confirmed_at, typed.expires_at = now, now + LINK_CODE_VALIDITY
        session.add(typed)
        session.flush()
        return False, origin
    asked = session.exec(select(LinkCode).where(LinkCode.account_id == account.id,
                                                col(LinkCode.confirmed_at).is_not(None), *live)
                         .order_by(col(LinkCode.confirmed_at).desc())).first()
    other = session.get(Account, asked.claimed_by) if asked is not None and asked.claimed_by else None
    if asked is None or other is None or other.person_id == account.person_id:
        raise LinkProblem("nothing")
    used = affected(session, update(LinkCode).where(col(LinkCode.code) == asked.code, col(LinkCode.used_at).is_(None))
                    .values(used_at=now))
    if used != 1:
        raise LinkProblem("nothing")
    merge_persons(session, keep_id=account.person_id, drop_id=other.person_id, rules=rules)
    session.refresh(other)
    return True, other


# A capability's rule for two persons becoming one (`Capability.merge_rule`): called with (session,
# keep_id, drop_id) before the core moves every person column, it keeps its one-row-per-person rules
# true (one vote, one acknowledgement, one membership...).
MergeRule = Callable[[Session, int, int], None]


def merge_persons(session: Session, keep_id: int, drop_id: int, rules: Iterable[MergeRule] = ()) -> None:
    """Move everything of person `drop_id` to `keep_id`, without duplicates, then delete it."""
    keep = session.get(Person, keep_id)
    drop = session.get(Person, drop_id)
    if keep is None or drop is None:
        return
    for field_name in ("locale", "site", "timezone"):
        if getattr(keep, field_name) is None and getattr(drop, field_name) is not None:
            setattr(keep, field_name, getattr(drop, field_name))
    for rule in rules:  # capabilities first settle their one-row-per-person rules
        rule(session, keep_id, drop_id)
    existing_skills = {s.skill for s in session.exec(select(PersonSkill).where(PersonSkill.person_id == keep_id))}
    for skill in session.exec(select(PersonSkill).where(PersonSkill.person_id == drop_id)):
        if skill.skill in existing_skills:
            session.delete(skill)
    roles = {r.role for r in session.exec(select(RoleGrant).where(RoleGrant.person_id == keep_id))}
    for grant in session.exec(select(RoleGrant).where(RoleGrant.person_id == drop_id)):
        if grant.role in roles:
            session.delete(grant)
    session.flush()
    # Then every column that points at a person moves over, whichever capability owns it.
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "person" for fk in column.foreign_keys):
                session.execute(update(table).where(column == drop_id).values({column.name: keep_id}))
    session.expire_all()
    session.add(AuditEntry(actor_person_id=keep_id, action="person.merge", subject=f"person:{keep_id}",
                           details=json.dumps({"merged": drop_id})))
    dropped = session.get(Person, drop_id)
    if dropped is not None:
        session.delete(dropped)
    session.flush()

