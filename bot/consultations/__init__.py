"""Consultations (members vote, the manager answers publicly) and ideas (members propose and upvote)."""
