"""Giving claimed rows back at once, when a worker stops, instead of letting their leases run out.

A row a stopping worker never handed to its platform returns as it was: claimable by any worker at once,
its attempt not counted, and still in doubt if an earlier attempt left it so. A row whose send was cut
off may have reached the platform: it stays in doubt (`claimed_until` set, see `bot.outbox.worker`), so
the next attempt looks for it by its idempotency key before posting; it is due after `SETTLE`, the time a
request cut off on our side may still take to land on the platform's side (as after an uncertain failure).
Only rows this worker still holds and that are still pending are touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col

from bot.outbox.contract import Outgoing
from storage.db import affected, session_scope
from storage.tables import OutboxMessage

SETTLE = timedelta(seconds=1)
CUT_OFF = "stopped while sending: looked for before the next post"


def release(engine: Engine, worker_id: str, now: datetime, unsent: Sequence[Outgoing],
            cut_off: Sequence[Outgoing]) -> int:
    """Give back `unsent` rows (never handed to the platform) and `cut_off` ones (their send was cancelled);
    returns how many rows were given back."""
    plain = [i.id for i in unsent if not i.in_doubt]
    doubtful = [i.id for i in unsent if i.in_doubt]
    cut = [i.id for i in cut_off]
    changes: list[tuple[list[int], dict[str, object]]] = [
        (plain, {"claimed_by": None, "claimed_until": None, "attempts": OutboxMessage.attempts - 1}),
        # `claimed_until` kept set (in the past): claimable at once, and still in doubt
        (doubtful, {"claimed_by": None, "claimed_until": now, "attempts": OutboxMessage.attempts - 1}),
        (cut, {"claimed_by": None, "claimed_until": now + SETTLE, "last_error": CUT_OFF}),
    ]
    released = 0
    with session_scope(engine) as session:
        for ids, values in changes:
            if ids:
                released += affected(session, update(OutboxMessage).where(
                    col(OutboxMessage.id).in_(ids), col(OutboxMessage.claimed_by) == worker_id,
                    col(OutboxMessage.status) == "pending").values(**values))
    return released
