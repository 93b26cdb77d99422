"""Typed events between the adapters and the core: who asks, where, and what."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    """Who sent a request: one account on one platform."""

    platform: str
    workspace: str
    user_id: str
    display_name: str = ""
    locale: str | None = None  # the platform's idea of the user's language, if it has one
    timezone: str | None = None  # the platform's idea of the user's time zone (a Matrix profile's m.tz)
    # (workspace, user id) keys under which the platform knew this same account before (a workspace's
    # user, now keyed by its organisation): they become accounts of the same person (`identity.ensure_account`).
    also_known_as: tuple[tuple[str, str], ...] = ()
    name_guessed: bool = False  # as `UserInfo.guessed`: the platform could not be asked for the name


@dataclass(frozen=True)
class Place:
    """Where a request came from, and where a public reply goes."""

    platform: str
    workspace: str
    channel_id: str
    name: str = ""  # human name of the channel, when known
    direct: bool = False  # a private conversation between the person and the bot
    thread: str | None = None
    # Workspaces under which the platform knew this same channel before (a workspace's channel, now keyed by
    # its organisation): a channel row kept under one of them is re-keyed on first sight.
    also_known_as: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserInfo:
    """What an adapter knows of a user it saw mentioned (display name, language), and whether the platform
    confirmed the user exists: True, False (the platform says there is no such user), None (not asked, or
    the platform did not answer). A platform whose descriptor `confirms_mentions` sets it for every mention."""

    display_name: str = ""
    locale: str | None = None
    timezone: str | None = None
    also_known_as: tuple[tuple[str, str], ...] = ()  # as `Actor.also_known_as`
    found: bool | None = None
    # The name is what the request carried (a handle), the platform not answering: it names a new account
    # but never replaces the name an account already has.
    guessed: bool = False


@dataclass(frozen=True)
class Request:
    """One thing to handle: a command line typed, or a button/reaction/form that runs one.

    `event_key` identifies the platform event (Slack event_id/trigger_id, Matrix event_id) so
    that a retried or replayed event has no second effect. `origin` says how it came (the adapter's
    word: "message", "slash", "modal", "button", "reaction"); with `Place.direct` it tells whether
    what the person typed is readable by anyone else, which the core writes into `private` from the
    platform's descriptor (`bot.platforms`) before handling it: what an adapter puts there is ignored.
    """

    actor: Actor
    place: Place
    text: str
    event_key: str | None = None
    users: dict[str, UserInfo] = field(default_factory=dict)  # user id -> info, for mentioned users
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> name, for referenced channels
    origin: str = "message"
    private: bool = False  # nobody but the person (and the bot) reads what they typed: set by the core
    # The platform rebuilds a view by itself (Slack's Home tab refreshed): the person did nothing, so they
    # are not "seen" (their last-used account, hence where private messages go, stays as it was).
    passive: bool = False
