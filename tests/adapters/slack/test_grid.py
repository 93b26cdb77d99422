"""Reading the Enterprise Grid organisation from each kind of Slack payload and from users.info."""

from __future__ import annotations

import pytest

from adapters.slack.grid import GridUser, Keys, aliases, enterprise_of, grid_user, keys
from bot.app import default_platforms
from bot.settings import SettingsError, load_settings


def test_enterprise_of_each_payload_shape() -> None:
    assert enterprise_of({"team_id": "T1", "enterprise_id": "E1"}) == "E1"  # slash command, event
    assert enterprise_of({"team_id": "T1", "authorizations": [{"enterprise_id": "E2", "team_id": None}]}) == "E2"
    assert enterprise_of({"team": {"id": "T1"}, "enterprise": {"id": "E3", "name": "Org"}}) == "E3"  # buttons
    assert enterprise_of({"team": {"id": "T1", "enterprise_id": "E4"}}) == "E4"  # view submission
    assert enterprise_of({"user": {"id": "W1", "enterprise_id": "E5"}}) == "E5"
    # Outside Grid: nothing, whatever Slack puts in the empty fields.
    assert enterprise_of({"team_id": "T1", "enterprise_id": None, "enterprise": None}) == ""
    assert enterprise_of({"team_id": "T1", "authorizations": [{"enterprise_id": None}], "enterprise_id": ""}) == ""


def test_grid_user_from_users_info() -> None:
    user = {"id": "W1", "team_id": "T1", "enterprise_user": {"id": "W1", "enterprise_id": "E1",
                                                             "teams": ["T1", "T2", 3]}}
    assert grid_user(user) == GridUser("E1", "W1", ("T1", "T2"))
    assert grid_user({"id": "U1", "team_id": "T1"}) is None
    assert grid_user({"id": "U1", "enterprise_user": {"id": "U1"}}) is None
    assert aliases("W1", ("T1", "T2", "T1", "")) == (("T1", "W1"), ("T2", "W1"))


def test_keys_of_a_request() -> None:
    # Outside Grid: the workspace keys, nothing to join.
    assert keys("T1", "", "U1", None) == Keys("", "U1")
    # In Grid: the organisation; the person's former keys in each of their workspaces and the request's.
    member = GridUser("E1", "W1", ("T1", "T2"))
    assert keys("T3", "E1", "W1", member) == Keys("E1", "W1", (("T3", "W1"), ("T1", "W1"), ("T2", "W1")),
                                                 ("T3", "T1", "T2"))
    # A payload without its organisation is keyed by the one users.info names.
    assert keys("T1", "", "W1", member).enterprise == "E1"
    # Someone of another organisation (a Slack Connect channel): their users.info workspaces are not ours.
    assert keys("T3", "E9", "W1", member) == Keys("E9", "W1", (("T3", "W1"),), ("T3",))


def test_cercle_admins_accepts_organisation_accounts() -> None:
    platforms = default_platforms()
    settings = load_settings({"CERCLE_ADMINS": "slack:E0123ABCD:W0456EFGH, slack:T0123ABCD:U0456EFGH"},
                             dotenv_path=None, platforms=platforms)
    assert [(a.platform, a.workspace, a.user_id) for a in settings.admins] == [
        ("slack", "E0123ABCD", "W0456EFGH"), ("slack", "T0123ABCD", "U0456EFGH")]
    with pytest.raises(SettingsError) as refused:
        load_settings({"CERCLE_ADMINS": "slack:E0123ABCD"}, dotenv_path=None, platforms=platforms)
    assert "slack:<team or Grid organisation id>:<user id>" in str(refused.value)
