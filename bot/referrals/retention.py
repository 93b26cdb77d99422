"""How long a finished nomination keeps what was said about the nominee (issue #12).

A nomination that ended (hired, rejected, declined, withdrawn, lapsed: `service.FINAL`) keeps its
argument and HR's notes for `CERCLE_NOMINATION_RETENTION_DAYS` (default 365) after its last state
change; then a daily job replaces them (and the arguments of people who backed the same nomination) by a
marker. The row stays, with its states and dates, so
counts and the digest's figures do not change.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from bot.i18n import _
from bot.referrals import service
from bot.scheduler import JobContext, periodic
from storage.db import session_scope
from storage.tables import AuditEntry, Nomination, NominationEvent, NominationSupporter

log = logging.getLogger(__name__)

REDACTED = "[redacted]"  # what replaces an argument or a note past the retention period (shown translated)
BATCH = 500


def shown(text: str) -> str:
    """An argument or a note as people read it: the marker in their language."""
    return _("(removed: this nomination ended more than the retention period ago)") if text == REDACTED else text


def redact_finished(ctx: JobContext) -> int:
    """Redact the finished nominations past the retention period; returns how many."""
    now = ctx.clock.now()
    before = now - timedelta(days=ctx.settings.nomination_retention_days)
    done = 0
    while True:
        with session_scope(ctx.engine) as session:
            ids = list(session.exec(select(Nomination.id).where(col(Nomination.state).in_(service.FINAL),
                                                                col(Nomination.updated_at) < before,
                                                                col(Nomination.argument) != REDACTED)
                                    .order_by(col(Nomination.id)).limit(BATCH)))
            if not ids:
                break
            session.execute(update(Nomination).where(col(Nomination.id).in_(ids)).values(argument=REDACTED))
            session.execute(update(NominationSupporter).where(col(NominationSupporter.nomination_id).in_(ids))
                            .values(argument=REDACTED))
            session.execute(update(NominationEvent).where(col(NominationEvent.nomination_id).in_(ids),
                                                          col(NominationEvent.note) != "")
                            .values(note=REDACTED))
            session.add(AuditEntry(at=now, actor_person_id=None, action="nomination.redact", subject="nominations",
                                   details=json.dumps({"count": len(ids)})))
            done += len(ids)
    if done:
        log.info("referrals retention: %d finished nomination(s) redacted", done)
    return done


@periodic("referrals.retention", 24 * 3600)
def retention(ctx: JobContext) -> int:
    """Once a day: finished nominations older than the retention period lose their argument and notes."""
    return redact_finished(ctx)
