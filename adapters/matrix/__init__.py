"""Cercle in Matrix: `!cercle <command>` (or a first mention of the bot) in rooms and direct chats.

The platform's descriptor is `adapters.matrix.platform` (light); the adapter, `adapters.matrix.adapter`,
is imported when Matrix is started.
"""
