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
                                                                   "tokens_revoked", "function_executed",
                                                                   "app_home_opened"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "im:write", "im:history", "pins:write", "users:read",
            "app_mentions:read"} <= scopes


def test_manifest_declares_the_shortcuts_the_adapter_answers() -> None:
    from adapters.slack.shortcuts import GLOBAL_SHORTCUTS, MESSAGE_SHORTCUTS

    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    declared = {(s["callback_id"], s["type"]) for s in manifest["features"]["shortcuts"]}
    assert declared == {(c, "global") for c in GLOBAL_SHORTCUTS} | {(c, "message") for c in MESSAGE_SHORTCUTS}
    assert all(len(s["name"]) <= 40 and len(s["description"]) <= 150 for s in manifest["features"]["shortcuts"])


# The Web API methods the adapter calls, and the bot scopes each one needs (Slack's method pages).
SCOPES_OF = {"chat_postMessage": {"chat:write", "chat:write.public"}, "chat_postEphemeral": {"chat:write"},
             "conversations_history": {"channels:history", "groups:history"}, "conversations_open": {"im:write"},
             "pins_add": {"pins:write"}, "users_info": {"users:read"}, "auth_test": set(), "views_open": set(),
             "views_publish": set(), "chat_getPermalink": set()}


def test_the_manifest_asks_for_no_scope_the_code_does_not_use() -> None:
    import re

    code = "\n".join(p.read_text(encoding="utf-8") for p in (MANIFEST.parents[1] / "adapters" / "slack").rglob("*.py"))
    called = {m for m in re.findall(r"client\.([a-z]+_[A-Za-z]+)\(", code) if m != "is_connected"}  # socket
    assert called <= set(SCOPES_OF), f"a Web API method without its scopes here: {called - set(SCOPES_OF)}"
    # Events need these: the slash command, mentions, direct messages (message.im).
    needed = {"commands", "app_mentions:read", "im:history"}.union(*(SCOPES_OF[m] for m in called))
    scopes = set(yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["oauth_config"]["scopes"]["bot"])
    assert scopes == needed


def test_an_oauth_install_asks_for_the_manifests_scopes_and_comes_back_to_cercle() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert SlackSettings().scopes == BOT_SCOPES
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]  # SLACK_SCOPES' default
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert urlparse(redirect).path == REDIRECT_PATH
    assert manifest["settings"]["token_rotation_enabled"] is False  # SLACK_BOT_TOKEN cannot be refreshed
