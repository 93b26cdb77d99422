"""Cercle's core: knows nothing of Slack or Matrix (see HACKING.md)."""
