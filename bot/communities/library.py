"""A community's shared resources: sharing (once per address), removing, listing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.communities.service import record_activity
from bot.errors import UserError
from bot.i18n import _
from storage.tables import Community, Resource, ResourceTag


def share(session: Session, community: Community, person_id: int, url: str, title: str, tags: list[str],
          now: datetime) -> Resource:
    """Share a resource; the same address twice in a community is refused (it was posted once already)."""
    assert community.id is not None
    if shared_resource(session, community.id, url) is not None:
        raise UserError(_("This address is already shared in {name}: see resources {slug}.", name=community.name,
                          slug=community.slug))
    resource = Resource(community_id=community.id, url=url, title=title, shared_by=person_id, shared_at=now)
    session.add(resource)
    session.flush()
    assert resource.id is not None
    for tag in tags:
        session.add(ResourceTag(resource_id=resource.id, tag=tag))
    record_activity(session, community.id, person_id, "shared", now)
    session.flush()
    return resource


def _same_url(url: str) -> list[str]:
    """The spellings of one address a second share would use: with or without the final slash."""
    bare = url.rstrip("/")
    return list(dict.fromkeys((url, bare, bare + "/")))


def shared_resource(session: Session, community_id: int, url: str) -> Resource | None:
    """The resource of this community at this address (the final slash aside), if it was shared."""
    return session.exec(select(Resource).where(Resource.community_id == community_id,
                                               col(Resource.url).in_(_same_url(url)))
                        .order_by(col(Resource.id))).first()


def remove_resource(session: Session, resource: Resource) -> None:
    for tag in session.exec(select(ResourceTag).where(ResourceTag.resource_id == resource.id)):
        session.delete(tag)
    session.flush()
    session.delete(resource)
    session.flush()


def resources(session: Session, community_id: int, tag: str | None = None, limit: int = 20, offset: int = 0,
              ) -> tuple[list[tuple[Resource, list[str]]], int]:
    """One page of a community's resources, newest first, and how many there are in all."""
    query = select(Resource).where(Resource.community_id == community_id)
    if tag:
        query = query.where(col(Resource.id).in_(select(ResourceTag.resource_id).where(ResourceTag.tag == tag)))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    rows = list(session.exec(query.order_by(col(Resource.shared_at).desc(), col(Resource.id).desc())
                             .offset(offset).limit(limit)))
    ids = [r.id for r in rows]
    tags: dict[int, list[str]] = {}
    if ids:
        for t in session.exec(select(ResourceTag).where(col(ResourceTag.resource_id).in_(ids))
                              .order_by(ResourceTag.tag)):
            tags.setdefault(t.resource_id, []).append(t.tag)
    return [(r, tags.get(r.id or 0, [])) for r in rows], total
