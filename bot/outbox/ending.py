"""Ending a workspace's pending deliveries at once, when the platform says it is gone (an uninstall):
retrying them could never succeed, and they must not wait for their attempts to run out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col

from storage.db import affected
from storage.tables import OutboxMessage


def end_pending(session: Session, platform: str, workspace: str, reason: str, now: datetime) -> int:
    """Mark the workspace's pending rows failed with `reason`; how many. Rows a worker holds right now
    finish their attempt (the sender refuses them with the same reason); a lease that ran out is no hold."""
    return affected(session,
        update(OutboxMessage)
        .where(col(OutboxMessage.platform) == platform, col(OutboxMessage.workspace) == workspace,
               col(OutboxMessage.status) == "pending",
               or_(col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) < now))
        .values(status="failed", last_error=reason[:500]))
