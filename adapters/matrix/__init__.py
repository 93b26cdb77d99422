"""Cercle in Matrix: `!cercle <command>` (or a first mention of the bot) in rooms and direct chats."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import Application, PlatformAdapter


def build_adapter(app: Application) -> PlatformAdapter:
    from adapters.matrix.adapter import MatrixAdapter

    return MatrixAdapter(app)


__all__ = ["build_adapter"]
