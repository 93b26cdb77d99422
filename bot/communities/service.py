"""Community rules and queries. Other capabilities call these functions, never the tables directly."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.commands.paging import natural_key
from bot.errors import Forbidden, NotFound, UserError
from bot.i18n import _
from bot.permissions import Role, has_role
from bot.settings import Settings
from storage.tables import (
    Channel,
    Community,
    CommunityActivity,
    CommunityChannel,
    CommunityTopic,
    Membership,
    Person,
)

ACTIVITY_WINDOW = timedelta(days=90)


# -- lookups ---------------------------------------------------------------------------------------
def get(session: Session, slug: str, *, include_archived: bool = False) -> Community:
    """The community with this slug, or NotFound with a hint."""
    community = session.exec(select(Community).where(Community.slug == slug)).first()
    if community is None or (community.archived_at is not None and not include_archived):
        raise NotFound(_("There is no community '{slug}'. See community list.", slug=slug))
    return community


def get_active(session: Session, slug: str) -> Community:
    community = get(session, slug, include_archived=True)
    if community.archived_at is not None:
        raise UserError(_("The community '{slug}' is archived: it is read-only.", slug=slug))
    return community


def membership(session: Session, community_id: int, person_id: int) -> Membership | None:
    return session.exec(select(Membership).where(Membership.community_id == community_id,
                                                 Membership.person_id == person_id)).first()


def is_member(session: Session, community_id: int, person_id: int) -> bool:
    return membership(session, community_id, person_id) is not None


def is_manager(session: Session, community_id: int, person_id: int) -> bool:
    m = membership(session, community_id, person_id)
    return bool(m and m.is_manager)


def require_manager(session: Session, settings: Settings, community: Community, person_id: int) -> None:
    """Managers of the community (and admins) only."""
    assert community.id is not None
    if is_manager(session, community.id, person_id) or has_role(session, person_id, settings, Role.ADMIN):
        return
    raise Forbidden(_("Only the managers of '{slug}' may do this.", slug=community.slug))


def require_member(session: Session, community: Community, person_id: int) -> None:
    assert community.id is not None
    if not is_member(session, community.id, person_id):
        raise Forbidden(_("Join '{slug}' first: community join {slug}", slug=community.slug))


def topics(session: Session, community_id: int) -> list[str]:
    return sorted(t.topic for t in session.exec(select(CommunityTopic)
                                                .where(CommunityTopic.community_id == community_id)))


def members(session: Session, community_id: int) -> list[tuple[Person, Membership]]:
    """Managers first, then everyone by name as people read names (user2 before user10)."""
    rows = session.exec(select(Person, Membership).join(Membership, col(Membership.person_id) == Person.id)
                        .where(Membership.community_id == community_id))
    return sorted(rows, key=lambda row: (not row[1].is_manager, natural_key(row[0].display_name), row[0].id or 0))


def member_count(session: Session, community_id: int) -> int:
    return session.exec(select(func.count()).select_from(Membership)
                        .where(Membership.community_id == community_id)).one()


def manager_ids(session: Session, community_id: int) -> list[int]:
    return [m.person_id for m in session.exec(select(Membership).where(Membership.community_id == community_id,
                                                                       col(Membership.is_manager).is_(True)))]


def member_ids(session: Session, community_id: int) -> list[int]:
    return [m.person_id for m in session.exec(select(Membership).where(Membership.community_id == community_id))]


def channels(session: Session, community_id: int) -> list[Channel]:
    """The channels linked to a community, where its announcements and digests go."""
    rows = session.exec(select(Channel).join(CommunityChannel, col(CommunityChannel.channel_id) == Channel.id)
                        .where(CommunityChannel.community_id == community_id).order_by(col(Channel.id)))
    return list(rows)


def by_id(session: Session, community_id: int) -> Community | None:
    return session.get(Community, community_id)


def by_ids(session: Session, ids: Collection[int]) -> dict[int, Community]:
    """Communities by id, in one query."""
    return {c.id: c for c in session.exec(select(Community).where(col(Community.id).in_(list(ids))))
            if c.id is not None}


def channels_many(session: Session, ids: Collection[int]) -> dict[int, list[Channel]]:
    """The linked channels of many communities, in one query."""
    out: dict[int, list[Channel]] = {}
    for cid, channel in session.execute(select(CommunityChannel.community_id, Channel)
                                        .join(Channel, col(Channel.id) == CommunityChannel.channel_id)
                                        .where(col(CommunityChannel.community_id).in_(list(ids)))
                                        .order_by(col(Channel.id))):
        out.setdefault(cid, []).append(channel)
    return out


def topics_many(session: Session, ids: Collection[int]) -> dict[int, list[str]]:
    """The topics of many communities (sorted), in one query."""
    out: dict[int, list[str]] = {i: [] for i in ids}
    for cid, topic in session.execute(select(CommunityTopic.community_id, CommunityTopic.topic)
                                      .where(col(CommunityTopic.community_id).in_(list(ids)))
                                      .order_by(col(CommunityTopic.topic))):
        out[cid].append(topic)
    return out


def linked_active(session: Session, ids: Collection[int] | None = None) -> list[tuple[int, datetime]]:
    """(id, created_at) of the active communities with at least one linked channel (those digests are
    posted to), by id; `ids` to look at those only."""
    query = (select(Community.id, Community.created_at)
             .where(col(Community.archived_at).is_(None), col(Community.id).in_(select(CommunityChannel.community_id)))
             .order_by(col(Community.id)))
    if ids is not None:
        query = query.where(col(Community.id).in_(list(ids)))
    return [(int(cid), created) for cid, created in session.exec(query) if cid is not None]


def memberships_of(session: Session, person_id: int, *, include_archived: bool = False,
                   ) -> list[tuple[Membership, Community]]:
    """A person's memberships with their communities, by slug."""
    query = (select(Membership, Community).join(Community, col(Community.id) == Membership.community_id)
             .where(Membership.person_id == person_id).order_by(Community.slug))
    if not include_archived:
        query = query.where(col(Community.archived_at).is_(None))
    return list(session.exec(query))


def communities_for_channel(session: Session, channel_id: int) -> list[Community]:
    rows = session.exec(select(Community).join(CommunityChannel, col(CommunityChannel.community_id) == Community.id)
                        .where(CommunityChannel.channel_id == channel_id, col(Community.archived_at).is_(None)))
    return list(rows)


def list_active(session: Session, topic: str | None = None) -> list[tuple[Community, int]]:
    """Active communities with their member counts, optionally those with a topic."""
    query = select(Community).where(col(Community.archived_at).is_(None)).order_by(Community.slug)
    if topic:
        query = query.where(col(Community.id).in_(select(CommunityTopic.community_id)
                                                  .where(CommunityTopic.topic == topic)))
    communities = list(session.exec(query))
    counts = dict(session.exec(select(Membership.community_id, func.count())
                               .group_by(col(Membership.community_id))).all())
    return [(c, counts.get(c.id or 0, 0)) for c in communities]


def choices(session: Session) -> list[tuple[str, str]]:
    """The active communities as a form's choices: (slug, "Name (slug)")."""
    return [(c.slug, f"{c.name} ({c.slug})") for c, _members in list_active(session)]


def slug_of_channel(session: Session, channel_id: int | None) -> str:
    """The community a channel is linked to (a form opened there preselects it); "" for none or several."""
    linked = communities_for_channel(session, channel_id) if channel_id is not None else []
    return linked[0].slug if len(linked) == 1 else ""


def communities_with_topics(session: Session, wanted: list[str]) -> list[Community]:
    """Active communities having one of the topics (positions and digests use this)."""
    if not wanted:
        return []
    query = (select(Community).where(col(Community.archived_at).is_(None),
                                     col(Community.id).in_(select(CommunityTopic.community_id)
                                                           .where(col(CommunityTopic.topic).in_(wanted))))
             .order_by(Community.slug))
    return list(session.exec(query))


# -- changes ---------------------------------------------------------------------------------------
def record_activity(session: Session, community_id: int, person_id: int | None, kind: str, at: datetime) -> None:
    """Count a contribution (whoknows ranking, digest health figures). person_id None: anonymous."""
    session.add(CommunityActivity(community_id=community_id, person_id=person_id, kind=kind, at=at))


def create(session: Session, *, slug: str, name: str, purpose: str, topic_list: list[str], creator_id: int,
           now: datetime, reserved: Collection[str] = ()) -> Community:
    """`reserved`: command words a slug must not be (`Registry.reserved_words`: `idea upvote` is matched
    before `idea <slug>`)."""
    if len(name) > 200:
        raise UserError(_("A community name is at most 200 characters long."))
    if len(purpose) > 2000:
        raise UserError(_("A purpose is at most 2000 characters long."))
    if slug in reserved:
        raise UserError(_("'{slug}' is a command word and cannot name a community. Choose another slug.", slug=slug))
    if session.exec(select(Community).where(Community.slug == slug)).first() is not None:
        raise UserError(_("The slug '{slug}' is taken. Choose another one.", slug=slug))
    community = Community(slug=slug, name=name, purpose=purpose, created_by=creator_id, created_at=now)
    session.add(community)
    try:
        session.flush()
    except IntegrityError:
        raise UserError(_("The slug '{slug}' is taken. Choose another one.", slug=slug)) from None
    assert community.id is not None
    for topic in topic_list:
        session.add(CommunityTopic(community_id=community.id, topic=topic))
    session.add(Membership(community_id=community.id, person_id=creator_id, is_manager=True, joined_at=now))
    record_activity(session, community.id, creator_id, "created", now)
    session.flush()
    return community


def join(session: Session, community: Community, person_id: int, now: datetime) -> bool:
    """Add a member; False if already one."""
    assert community.id is not None
    if is_member(session, community.id, person_id):
        return False
    session.add(Membership(community_id=community.id, person_id=person_id, joined_at=now))
    record_activity(session, community.id, person_id, "joined", now)
    session.flush()
    return True


def leave(session: Session, community: Community, person_id: int) -> None:
    """Leave; the last manager of an active community must hand over first (an archived one has nothing
    left to manage: anyone may leave it)."""
    assert community.id is not None
    m = membership(session, community.id, person_id)
    if m is None:
        raise UserError(_("You are not a member of '{slug}'.", slug=community.slug))
    if community.archived_at is None and m.is_manager and manager_ids(session, community.id) == [person_id]:
        if member_count(session, community.id) > 1:
            raise UserError(_("You are the last manager of '{slug}': promote someone first "
                              "(community promote {slug} @someone).", slug=community.slug))
        raise UserError(_("You are the last member of '{slug}': archive it instead "
                          "(community archive {slug}).", slug=community.slug))
    session.delete(m)
    session.flush()


def promote(session: Session, community: Community, person_id: int) -> bool:
    assert community.id is not None
    m = membership(session, community.id, person_id)
    if m is None:
        raise UserError(_("This person is not a member of '{slug}'; they must join first.", slug=community.slug))
    if m.is_manager:
        return False
    m.is_manager = True
    session.flush()
    return True


def link(session: Session, community: Community, channel: Channel) -> bool:
    """Link a channel; it takes the community's language, if the community has one."""
    assert community.id is not None and channel.id is not None
    exists = session.exec(select(CommunityChannel).where(CommunityChannel.community_id == community.id,
                                                         CommunityChannel.channel_id == channel.id)).first()
    if exists:
        return False
    session.add(CommunityChannel(community_id=community.id, channel_id=channel.id))
    if community.locale:
        channel.locale = community.locale
    session.flush()
    return True


def unlink(session: Session, community: Community, channel: Channel) -> bool:
    assert community.id is not None and channel.id is not None
    row = session.exec(select(CommunityChannel).where(CommunityChannel.community_id == community.id,
                                                      CommunityChannel.channel_id == channel.id)).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    _follow_communities(session, channel)
    return True


def _follow_communities(session: Session, channel: Channel) -> None:
    """A channel speaks the language of the communities still linked to it (the first one that has one)."""
    linked = session.exec(select(Community.locale).join(CommunityChannel,
                                                        col(CommunityChannel.community_id) == Community.id)
                          .where(CommunityChannel.channel_id == channel.id, col(Community.locale).is_not(None))
                          .order_by(col(CommunityChannel.id))).first()
    channel.locale = linked
    session.flush()


def set_locale(session: Session, community: Community, locale: str) -> list[Channel]:
    """The community's language, and its linked channels' (their posts); returns those channels."""
    assert community.id is not None
    community.locale = locale
    linked = channels(session, community.id)
    for channel in linked:
        channel.locale = locale
    session.flush()
    return linked


def archive(session: Session, community: Community, now: datetime) -> None:
    community.archived_at = now
    session.flush()


def unarchive(session: Session, community: Community) -> None:
    if community.archived_at is None:
        raise UserError(_("The community '{slug}' is not archived.", slug=community.slug))
    community.archived_at = None
    session.flush()


# -- a person's data -------------------------------------------------------------------------------
def merge_persons(session: Session, keep_id: int, drop_id: int) -> None:
    """Two accounts of one person: one membership per community (a manager of either stays a manager)."""
    kept = {m.community_id: m for m in session.exec(select(Membership).where(Membership.person_id == keep_id))}
    for dropped in session.exec(select(Membership).where(Membership.person_id == drop_id)):
        if dropped.community_id in kept:
            kept[dropped.community_id].is_manager |= dropped.is_manager
            session.delete(dropped)
    session.flush()


def personal_data(session: Session, settings: Settings, person_id: int) -> dict[str, Any]:
    """The communities capability's part of a person's export: their memberships, archived ones included."""
    return {"communities": [{"slug": c.slug, "name": c.name, "manager": m.is_manager,
                             "joined_at": m.joined_at.isoformat() if m.joined_at else ""}
                            for m, c in memberships_of(session, person_id, include_archived=True)]}
