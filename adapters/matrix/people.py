"""Who may invite the bot into a room: administrators anywhere, and anyone from an allowed server."""

from __future__ import annotations

from adapters.matrix.platform import NAME, MatrixSettings, workspace_of
from bot.core import Core


def invite_allowed(core: Core, settings: MatrixSettings, inviter: str, bot_server: str) -> bool:
    """Admins anywhere, and anyone from an allowed server (default: the bot's own)."""
    servers = settings.allowed_servers or (bot_server,)
    if workspace_of(inviter) in servers:
        return True
    return core.is_admin(NAME, workspace_of(inviter), inviter)
