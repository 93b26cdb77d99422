"""Cercle in Slack: slash command, mentions and direct messages, Block Kit, buttons and modals."""

from adapters.slack.app import SlackAdapter, build_adapter

__all__ = ["SlackAdapter", "build_adapter"]
