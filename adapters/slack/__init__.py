"""Cercle in Slack: slash command, mentions and direct messages, Block Kit, buttons and modals.

The platform's descriptor is `adapters.slack.platform` (light); the adapter, `adapters.slack.app`, is
imported when Slack is started.
"""
