"""Reading the Enterprise Grid organisation from each kind of Slack payload and from users.info."""

from __future__ import annotations

from adapters.slack.grid import GridUser, aliases, enterprise_of, grid_user


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
