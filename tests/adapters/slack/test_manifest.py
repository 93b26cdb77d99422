"""The Slack app manifest asks for what the adapter uses, at the address it listens on."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import yaml

from adapters.slack.app import EVENTS_PATH
from adapters.slack.oauth.flow import REDIRECT_PATH
from adapters.slack.platform import BOT_SCOPES, SlackSettings

MANIFEST = Path(__file__).parents[3] / "deploy" / "slack-manifest.yml"


def test_manifest_matches_the_adapter() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SlackSettings().command
    assert command["should_escape"] is True  # mentions arrive as <@U…> tokens the grammar reads
    settings = manifest["settings"]
    urls = [command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    assert {urlparse(u).path for u in urls} == {EVENTS_PATH}
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im", "app_uninstalled",
                                                                  "tokens_revoked", "function_executed"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "im:write", "im:history", "pins:write", "users:read",
            "channels:read", "groups:read", "app_mentions:read"} <= scopes


def test_an_oauth_install_asks_for_the_manifests_scopes_and_comes_back_to_cercle() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert SlackSettings().scopes == BOT_SCOPES
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]  # SLACK_SCOPES' default
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert urlparse(redirect).path == REDIRECT_PATH
    assert manifest["settings"]["token_rotation_enabled"] is False  # SLACK_BOT_TOKEN cannot be refreshed
