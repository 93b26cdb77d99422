"""Scheduled digests: what happened in a community, posted to its channels on its schedule."""
