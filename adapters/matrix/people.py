"""What the adapter asks the core's identity model: a person's language, whether they are an admin."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot import identity
from bot.permissions import Role, has_role
from bot.settings import Settings, matrix_workspace
from storage.db import session_scope
from storage.tables import Person

PLATFORM = "matrix"


def locale_of(engine: Engine, settings: Settings, user_id: str) -> str:
    """The language Cercle speaks to this Matrix user (the default for people it never met)."""
    with session_scope(engine) as session:
        account = identity.find_account(session, PLATFORM, matrix_workspace(user_id), user_id)
        person = session.get(Person, account.person_id) if account else None
        if person is None:
            return settings.locale
        return identity.person_locale(session, person, settings.locale)


def is_admin(engine: Engine, settings: Settings, user_id: str) -> bool:
    """Listed in CERCLE_ADMINS, or holding the admin role (possibly through a linked account)."""
    workspace = matrix_workspace(user_id)
    if any(a.platform == PLATFORM and a.user_id == user_id for a in settings.admins):
        return True
    with session_scope(engine) as session:
        account = identity.find_account(session, PLATFORM, workspace, user_id)
        return account is not None and has_role(session, account.person_id, settings, Role.ADMIN)


def invite_allowed(engine: Engine, settings: Settings, inviter: str, bot_server: str) -> bool:
    """Admins anywhere, and anyone from an allowed server (default: the bot's own)."""
    servers = settings.matrix_allowed_servers or (bot_server,)
    if matrix_workspace(inviter) in servers:
        return True
    return is_admin(engine, settings, inviter)
