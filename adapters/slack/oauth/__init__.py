"""Slack installed in several workspaces through OAuth ("Add to Slack"): the installation and state
stores over Cercle's database, per-workspace tokens (with rotation), the install pages and the
uninstall events. Used only when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set."""
