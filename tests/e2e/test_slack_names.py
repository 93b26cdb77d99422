"""A name Slack could not be asked for (users.info rate limited) names a new account but never replaces the
name an account already has: a crowd clicking during a rate limit does not rename people to their handles."""

from __future__ import annotations

from sqlmodel import select

from storage.db import session_scope
from storage.tables import Account, Person
from tests.support.slack import ALICE, SlackHarness


def _names(slack: SlackHarness, user_id: str) -> tuple[str, str]:
    with session_scope(slack.app.engine) as session:
        account = session.exec(select(Account).where(Account.user_id == user_id)).one()
        person = session.get(Person, account.person_id)
        assert person is not None
        return account.display_name, person.display_name


async def test_a_rate_limited_lookup_keeps_the_stored_name_and_names_a_newcomer_by_handle(
        slack: SlackHarness) -> None:
    await slack.command("help", user=ALICE)  # users.info answers: Alice
    assert _names(slack, ALICE) == ("Alice", "Alice")
    slack.adapter.users._cache.clear()  # as after a restart
    slack.fake.fail_next("users.info", "429", retry_after=60)
    answer = await slack.command("profile show", user=ALICE)
    assert answer.params["response_type"] == "ephemeral"
    assert _names(slack, ALICE) == ("Alice", "Alice")  # not renamed to the handle "alice"
    await slack.command("help", user="UNEWCOMER")  # still waiting: not asked, named by the request
    assert _names(slack, "UNEWCOMER")[0]
    assert [c.params.get("user") for c in slack.fake.calls_to("users.info")].count("UNEWCOMER") == 0
