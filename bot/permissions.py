"""Roles and what each may do (design §4.1).

`admin` grants roles and may act for communities and crises everywhere, but does not see nomination
content: HR's side is checked with `holds_role` (the role itself, no admin shortcut); `hr` runs positions
and the nomination queue;
`communicator` declares crises and speaks in them. Community managers are per community and
checked by the communities service. The first admins come from `CERCLE_ADMINS`.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, select

from bot.settings import Settings
from storage.tables import Account, RoleGrant


class Role(StrEnum):
    ADMIN = "admin"
    HR = "hr"
    COMMUNICATOR = "communicator"


GRANTABLE = tuple(r.value for r in Role)
# An administrator entry whose user id is ANYONE names every account of its platform and workspace. Only the
# console uses it, when CERCLE_ADMINS is empty (`cercle console`: nobody signs in there, `:as` makes anyone
# anyone, and whoever runs it holds the database anyway). It cannot be written in CERCLE_ADMINS.
ANYONE = "*"


def is_configured_admin(session: Session, person_id: int, settings: Settings) -> bool:
    """True when one of the person's accounts is listed in CERCLE_ADMINS."""
    if not settings.admins:
        return False
    accounts = session.exec(select(Account).where(Account.person_id == person_id))
    wanted = {(a.platform, a.workspace, a.user_id) for a in settings.admins}
    return any((a.platform, a.workspace, a.user_id) in wanted or (a.platform, a.workspace, ANYONE) in wanted
               for a in accounts)


def roles_of(session: Session, person_id: int, settings: Settings) -> set[Role]:
    roles = {Role(g.role) for g in session.exec(select(RoleGrant).where(RoleGrant.person_id == person_id))
             if g.role in GRANTABLE}
    if is_configured_admin(session, person_id, settings):
        roles.add(Role.ADMIN)
    return roles


def has_role(session: Session, person_id: int, settings: Settings, *wanted: Role) -> bool:
    """Admins have every role."""
    roles = roles_of(session, person_id, settings)
    return Role.ADMIN in roles or any(r in roles for r in wanted)


def holds_role(session: Session, person_id: int, settings: Settings, role: Role) -> bool:
    """The person holds `role` itself (an admin is not HR unless granted hr: least privilege)."""
    return role in roles_of(session, person_id, settings)


def admin_ids(session: Session, settings: Settings) -> list[int]:
    """Every administrator known as a person: granted admin, or an account listed in CERCLE_ADMINS."""
    ids = people_with_role(session, Role.ADMIN)
    for spec in settings.admins:
        if spec.user_id == ANYONE:
            continue
        account = session.exec(select(Account).where(Account.platform == spec.platform,
                                                     Account.workspace == spec.workspace,
                                                     Account.user_id == spec.user_id)).first()
        if account is not None:
            ids.append(account.person_id)
    return list(dict.fromkeys(ids))


def people_with_role(session: Session, role: Role) -> list[int]:
    """Persons granted `role` in the database (configured admins are added by the caller)."""
    return [g.person_id for g in session.exec(select(RoleGrant).where(RoleGrant.role == role.value))]
