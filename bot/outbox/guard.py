"""The last check before a private message goes out: may its recipient still receive it?

A private row is addressed when it is written (a nomination's HR side to the people holding hr then, a
consent request to the nominee). Between that moment and its delivery the right may go: HR loses the hr
role, the nomination is withdrawn or purged, the person is removed. The capability that owns a subject
declares a `DeliveryGuard` for it (by subject prefix, `Capability.delivery_guards`); the delivery worker
asks the guards about the direct-message rows it has just claimed, in its claim transaction, one call per
guard for the whole batch (a guard answers with a few queries, never one per row). Rows whose subject no
guard owns are not looked at, so a broadcast pays nothing.

A refused row is not sent: it ends failed with `REFUSED` as its error, without its body nor its recipient
(as a delivered row), and an audit entry records the refusal, without the content. The outbox knows
nothing of what the subjects mean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import metrics
from bot.settings import Settings
from storage.tables import AuditEntry, OutboxMessage

REFUSED = "recipient no longer entitled"


@dataclass(frozen=True)
class Addressed:
    """A claimed private message as a guard sees it: what it is about and who it is for, never its text."""

    id: int
    subject: str
    person_id: int | None  # None: the recipient was erased since


# The ids of the rows (all with a subject the guard owns) whose recipient may no longer receive them.
DeliveryGuard = Callable[[Session, Settings, Sequence[Addressed]], set[int]]


class Guards:
    """The capabilities' delivery guards, by subject prefix, with the settings they read (configured admins)."""

    def __init__(self, guards: Iterable[tuple[str, DeliveryGuard]], settings: Settings) -> None:
        self.guards = tuple(guards)
        self.settings = settings

    def refused(self, session: Session, rows: Sequence[OutboxMessage]) -> set[int]:
        """The ids of the direct-message `rows` some guard refuses (each guard called once, if at all)."""
        refused: set[int] = set()
        for prefix, guard in self.guards:
            mine = [Addressed(r.id or 0, r.subject, r.person_id) for r in rows
                    if r.target_kind == "dm" and r.subject.startswith(prefix)]
            if mine:
                refused |= guard(session, self.settings, mine) & {a.id for a in mine}
        return refused

    def screen(self, session: Session, rows: Sequence[OutboxMessage], now: datetime) -> set[int]:
        """End the refused rows among `rows` (in the caller's transaction); returns their ids."""
        refused = self.refused(session, rows)
        for row in rows:
            if row.id in refused:
                refuse(session, row, now)
        return refused


def refuse(session: Session, row: OutboxMessage, now: datetime) -> None:
    """Mark `row` failed, not sent: no body, no recipient kept; audited without the content."""
    platform, subject = row.platform, row.subject
    row.status, row.last_error, row.body = "failed", REFUSED, ""
    row.person_id, row.target_id = None, ""
    row.claimed_by, row.claimed_until, row.next_attempt_at = None, None, now
    session.add(row)
    session.add(AuditEntry(at=now, actor_person_id=None, action="outbox.refused", subject=subject[:64],
                           details=json.dumps({"outbox": row.id, "reason": REFUSED}, sort_keys=True)))
    metrics.DELIVERIES.labels(platform, "refused").inc()
