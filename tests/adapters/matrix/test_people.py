"""Who may invite the bot, and which language it speaks to a Matrix user, on both databases."""

from __future__ import annotations

from dataclasses import replace

from adapters.matrix.people import invite_allowed
from adapters.matrix.platform import MatrixSettings
from bot.app import Application, default_platforms
from bot.core import Core
from bot.events import Actor
from bot.identity import find_account
from bot.people.service import grant
from bot.permissions import Role
from storage.db import session_scope
from tests.support.chat import Chat


def test_invitations_follow_the_allowed_servers_and_admin_roles(app: Application, chat: Chat) -> None:
    root = default_platforms().parse_account("matrix:@root:far.example")
    engine = app.engine
    core = Core(replace(app.settings, admins=(*app.settings.admins, root)), engine, app.clock, app.router,
                app.platforms, app.outbox)
    section = MatrixSettings()
    assert invite_allowed(core, section, "@anyone:home.example", "home.example")  # default: the bot's server
    assert not invite_allowed(core, section, "@stranger:far.example", "home.example")
    assert invite_allowed(core, section, "@root:far.example", "home.example")  # CERCLE_ADMINS
    only_partner = MatrixSettings(allowed_servers=("partner.example",))
    assert invite_allowed(core, only_partner, "@x:partner.example", "home.example")
    assert not invite_allowed(core, only_partner, "@anyone:home.example", "home.example")

    # Someone granted the admin role in Cercle may invite from anywhere.
    chat.ok("profile skills x", platform="matrix", workspace="far.example", user="@boss:far.example")
    assert not invite_allowed(core, section, "@boss:far.example", "home.example")
    with session_scope(engine) as session:
        account = find_account(session, "matrix", "far.example", "@boss:far.example")
        assert account is not None
        grant(session, account.person_id, Role.ADMIN, account.person_id)
    assert invite_allowed(core, section, "@boss:far.example", "home.example")


def test_language_of_a_matrix_user(app: Application, chat: Chat) -> None:
    assert app.core.locale_of(Actor("matrix", "hs", "@new:hs")) == "en"
    chat.ok("language fr", platform="matrix", workspace="hs", user="@amelie:hs")
    assert app.core.locale_of(Actor("matrix", "hs", "@amelie:hs")) == "fr"
