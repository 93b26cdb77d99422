"""Profiles, roles, language and account linking."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import FrozenClock
from storage.tables import Account, Membership, Person
from tests.support.chat import Chat
from tests.support.linking import link_accounts
from tests.support.snapshot import snapshot


def test_profile_skills_site_and_show(chat: Chat) -> None:
    assert "Your skills: ml, python." in chat.ok("profile skills Python, ML, python")
    chat.ok('profile site "Lyon Part-Dieu"')
    chat.ok('community create ds "DS"')
    shown = chat.ok("profile show @alice", user="bob")
    assert "Skills: ml, python" in shown and "Site: Lyon Part-Dieu" in shown and "Communities: ds ★" in shown
    assert "Your accounts" not in shown  # only on one's own profile
    assert "Your accounts: console:alice" in chat.ok("profile show")


def test_profile_refusals(chat: Chat, engine: Engine) -> None:
    before = snapshot(engine)
    assert "At most 30 skills" in chat.error("profile skills " + ",".join(f"s{i}" for i in range(31)))
    assert "Missing argument" in chat.error("profile site")
    assert "not a mention" in chat.error("profile show bob")
    assert snapshot(engine) == before


def test_roles_are_granted_by_admins_only(chat: Chat, engine: Engine) -> None:
    before = snapshot(engine)
    assert "Only people with the admin role" in chat.error("role grant @bob hr", user="alice")
    assert "is not one of" in chat.error("role grant @bob boss", user="admin")
    assert snapshot(engine) == before
    assert "bob now has the hr role" in chat.ok("role grant @bob rh", user="admin")
    assert "already has" in chat.ok("role grant @bob hr", user="admin")
    sent = chat.deliver()
    assert [(s.target_kind, s.target_id) for s in sent] == [("dm", "bob")]
    assert "hr: bob" in chat.ok("role list", user="carol")
    assert "admin (CERCLE_ADMINS): console:admin" in chat.ok("role list", user="carol")
    assert "no longer has" in chat.ok("role revoke @bob hr", user="admin")
    assert "does not have" in chat.error("role revoke @bob hr", user="admin")
    assert "through CERCLE_ADMINS" in chat.error("role revoke @admin admin", user="admin")


def test_language_is_per_person(chat: Chat) -> None:
    assert chat.ok("langue fr", user="bob") == "Désormais, Cercle vous parle en français."
    assert "Commande inconnue" in chat.error("frobnicate", user="bob")
    assert "Unknown command" in chat.error("frobnicate", user="alice")
    assert "is not one of" in chat.error("language de", user="alice")
    assert chat.ok("language english", user="bob") == "From now on Cercle speaks English to you."


def test_platform_locale_applies_until_the_person_chooses(chat: Chat) -> None:
    assert "Commande inconnue" in chat.error("frobnicate", user="zoe", locale="fr-FR")
    chat.ok("language en", user="zoe", locale="fr-FR")
    assert "Unknown command" in chat.error("frobnicate", user="zoe", locale="fr-FR")


def test_link_two_accounts_into_one_person(chat: Chat, engine: Engine) -> None:
    chat.ok("profile skills python", user="alice")
    chat.ok('community create ds "DS"', user="alice")
    code_reply = chat.ok("profile link", user="alice")
    code = code_reply.split("Your link code is ")[1].split(".")[0]
    # The same person on Matrix, with a skill and a membership of their own there.
    chat.ok("profile skills sql", user="@alice:example.org", platform="matrix", workspace="example.org",
            channel="!room:example.org")
    chat.ok("community join ds", user="@alice:example.org", platform="matrix", workspace="example.org")
    done = link_accounts(chat, {"user": "alice"}, {"user": "@alice:example.org", "platform": "matrix",
                                                   "workspace": "example.org"}, code=code.lower())
    assert "your accounts are now one person" in done
    with Session(engine) as session:
        accounts = list(session.exec(select(Account).where(col(Account.user_id).in_(["alice", "@alice:example.org"]))))
        assert len({a.person_id for a in accounts}) == 1
        person_id = accounts[0].person_id
        assert len(list(session.exec(select(Membership).where(Membership.person_id == person_id)))) == 1
        assert session.exec(select(Person).where(Person.id == person_id)).one().display_name == "alice"
    shown = chat.ok("profile show", user="alice")
    assert "Skills: python, sql" in shown and "console:alice" in shown and "matrix:@alice:example.org" in shown
    assert "already been used" in chat.error(f"profile link {code}", user="@bob:example.org", platform="matrix",
                                             workspace="example.org")


def test_link_codes_expire_and_must_cross_platforms(chat: Chat, clock: FrozenClock) -> None:
    code = chat.ok("profile link", user="alice").split("Your link code is ")[1].split(".")[0]
    assert "other platform" in chat.error(f"profile link {code}", user="bob")
    clock.advance(timedelta(minutes=11))
    assert "expired" in chat.error(f"profile link {code}", user="@a:example.org", platform="matrix",
                                   workspace="example.org")
    assert "does not exist" in chat.error("profile link ZZZZZZZZ", user="@a:example.org", platform="matrix",
                                          workspace="example.org")



def test_a_renamed_person_is_shown_with_the_new_name(chat: Chat) -> None:
    def show_as(name: str) -> str:
        request = chat.request("profile show", user="U1", platform="slack", workspace="T1")
        reply = chat.app.router.handle(replace(request, actor=replace(request.actor, display_name=name)))
        assert reply is not None
        return reply.message.plain_text()

    assert show_as("Camille Martin").startswith("Camille Martin")
    assert show_as("Camille Dupont").startswith("Camille Dupont")
