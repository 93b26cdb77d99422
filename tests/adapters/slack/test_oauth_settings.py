"""The OAuth install's settings: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET instead of SLACK_BOT_TOKEN, with
CERCLE_SECRET_KEY required (tokens are stored sealed), SLACK_SCOPES and SLACK_REDIRECT_URI optional."""

from __future__ import annotations

import pytest

from adapters.slack.platform import BOT_SCOPES, SlackSettings, read_settings
from bot.settings import SettingsError

KEY = "k" * 40
OAUTH = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": "sign",
         "CERCLE_SECRET_KEY": KEY}


def test_oauth_settings_are_read() -> None:
    section = read_settings(OAUTH)
    assert isinstance(section, SlackSettings) and section.oauth and section.configured
    assert section.bot_token is None and section.scopes == BOT_SCOPES and section.redirect_uri is None
    assert "client-secret" in section.secrets() and "client-secret" not in repr(section)
    custom = read_settings({**OAUTH, "SLACK_SCOPES": "commands, chat:write", "SLACK_REDIRECT_URI":
                            "https://cercle.example.org/slack/oauth_redirect"})
    assert custom.scopes == ("commands", "chat:write")
    assert custom.redirect_uri == "https://cercle.example.org/slack/oauth_redirect"


def test_one_token_stays_the_single_workspace_mode() -> None:
    section = read_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert section.configured and not section.oauth


@pytest.mark.parametrize(("env", "name", "says"), [
    ({**OAUTH, "SLACK_CLIENT_SECRET": None}, "SLACK_CLIENT_SECRET", "needs both"),
    ({**OAUTH, "SLACK_CLIENT_ID": None}, "SLACK_CLIENT_ID", "needs both"),
    ({**OAUTH, "CERCLE_SECRET_KEY": None}, "CERCLE_SECRET_KEY", "sealed"),
    ({**OAUTH, "SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN", "not both"),
    ({**OAUTH, "SLACK_SCOPES": "chat write"}, "SLACK_SCOPES", "'chat write' is not a Slack scope"),
    ({**OAUTH, "SLACK_SCOPES": " , "}, "SLACK_SCOPES", "is not a Slack scope"),
    ({**OAUTH, "SLACK_REDIRECT_URI": "cercle.example.org"}, "SLACK_REDIRECT_URI", "not an http(s) URL"),
])
def test_a_wrong_oauth_setting_is_named(env: dict[str, str | None], name: str, says: str) -> None:
    with pytest.raises(SettingsError) as info:
        read_settings(env)
    assert info.value.name == name and says in str(info.value)
