"""Who may invite the bot, and which language it speaks to a Matrix user, on both databases."""

from __future__ import annotations

from dataclasses import replace

from adapters.matrix.people import invite_allowed, locale_of
from bot.app import Application
from bot.identity import find_account
from bot.people.service import grant
from bot.permissions import Role
from bot.settings import parse_account_spec
from storage.db import session_scope
from tests.support.chat import Chat


def test_invitations_follow_the_allowed_servers_and_admin_roles(app: Application, chat: Chat) -> None:
    settings = replace(app.settings, admins=(*app.settings.admins, parse_account_spec("matrix:@root:far.example")))
    engine = app.engine
    assert invite_allowed(engine, settings, "@anyone:home.example", "home.example")  # default: the bot's server
    assert not invite_allowed(engine, settings, "@stranger:far.example", "home.example")
    assert invite_allowed(engine, settings, "@root:far.example", "home.example")  # CERCLE_ADMINS
    only_partner = replace(settings, matrix_allowed_servers=("partner.example",))
    assert invite_allowed(engine, only_partner, "@x:partner.example", "home.example")
    assert not invite_allowed(engine, only_partner, "@anyone:home.example", "home.example")

    # Someone granted the admin role in Cercle may invite from anywhere.
    chat.ok("profile skills x", platform="matrix", workspace="far.example", user="@boss:far.example")
    assert not invite_allowed(engine, settings, "@boss:far.example", "home.example")
    with session_scope(engine) as session:
        account = find_account(session, "matrix", "far.example", "@boss:far.example")
        assert account is not None
        grant(session, account.person_id, Role.ADMIN, account.person_id)
    assert invite_allowed(engine, settings, "@boss:far.example", "home.example")


def test_language_of_a_matrix_user(app: Application, chat: Chat) -> None:
    assert locale_of(app.engine, app.settings, "@new:hs") == "en"
    chat.ok("language fr", platform="matrix", workspace="hs", user="@amelie:hs")
    assert locale_of(app.engine, app.settings, "@amelie:hs") == "fr"
