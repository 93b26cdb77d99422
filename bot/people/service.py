"""Rules about people: skills, site, roles, language, cancelling an account link."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from bot import permissions
from bot.communities import service as communities
from bot.permissions import Role
from bot.settings import Settings
from storage.db import affected
from storage.tables import Account, LinkCode, Person, PersonSkill, RoleGrant

if TYPE_CHECKING:
    from storage.tables import Community  # a row the communities service returns


def set_skills(session: Session, person_id: int, skills: list[str]) -> list[str]:
    """Replace the person's skills; returns them sorted."""
    for row in session.exec(select(PersonSkill).where(PersonSkill.person_id == person_id)):
        session.delete(row)
    session.flush()
    for skill in dict.fromkeys(skills):
        session.add(PersonSkill(person_id=person_id, skill=skill))
    session.flush()
    return sorted(set(skills))


def skills_of(session: Session, person_id: int) -> list[str]:
    return sorted(s.skill for s in session.exec(select(PersonSkill).where(PersonSkill.person_id == person_id)))


def communities_of(session: Session, person_id: int) -> list[tuple[Community, bool]]:
    """(community, is_manager) for each active community the person belongs to."""
    return [(c, m.is_manager) for m, c in communities.memberships_of(session, person_id)]


def accounts_of(session: Session, person_id: int) -> list[Account]:
    return list(session.exec(select(Account).where(Account.person_id == person_id).order_by(Account.platform)))


def grant(session: Session, person_id: int, role: Role, by: int) -> bool:
    """Give a role; False if the person had it already."""
    exists = session.exec(select(RoleGrant).where(RoleGrant.person_id == person_id,
                                                  RoleGrant.role == role.value)).first()
    if exists:
        return False
    session.add(RoleGrant(person_id=person_id, role=role.value, granted_by=by))
    session.flush()
    return True


def other_holders(session: Session, settings: Settings, role: Role, person_id: int) -> list[int]:
    """Who else holds `role` (for admin: granted or through CERCLE_ADMINS)."""
    holders = permissions.admin_ids(session, settings) if role == Role.ADMIN else permissions.people_with_role(
        session, role)
    return [h for h in dict.fromkeys(holders) if h != person_id]


def revoke(session: Session, person_id: int, role: Role) -> bool:
    row = session.exec(select(RoleGrant).where(RoleGrant.person_id == person_id,
                                               RoleGrant.role == role.value)).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def role_holders(session: Session) -> list[tuple[Person, str]]:
    rows = session.exec(select(Person, RoleGrant).join(RoleGrant, col(RoleGrant.person_id) == Person.id)
                        .order_by(RoleGrant.role, Person.display_name))
    return [(p, g.role) for p, g in rows]


def personal_data(session: Session, settings: Settings, person_id: int) -> dict[str, Any]:
    """The people capability's part of a person's export: their skills."""
    return {"skills": skills_of(session, person_id)}


def cancel_links(session: Session, account: Account, now: datetime) -> tuple[int, list[Account]]:
    """Drop every live link this account is part of, as the code's owner or as the account that typed it, so
    that a code cannot finish a link its owner gave up. Returns (links dropped, the other accounts involved).
    A link that merged meanwhile (`used_at` set) is not touched."""
    rows = session.exec(select(LinkCode).where(or_(col(LinkCode.account_id) == account.id,
                                                   col(LinkCode.claimed_by) == account.id),
                                               col(LinkCode.used_at).is_(None), col(LinkCode.expires_at) >= now)).all()
    dropped, others = 0, {}
    for row in rows:
        other_id = row.claimed_by if row.account_id == account.id else row.account_id
        if affected(session, delete(LinkCode).where(col(LinkCode.code) == row.code,
                                                    col(LinkCode.used_at).is_(None))) != 1:
            continue
        dropped += 1
        other = session.get(Account, other_id) if other_id is not None else None
        if other is not None and other.id != account.id:
            others[other.id] = other  # told once, however many of its links were dropped
    return dropped, list(others.values())
