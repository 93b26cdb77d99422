"""The closing job: consultations whose time is up are closed and their results posted, once."""

from __future__ import annotations

import logging

from bot.consultations import service, usecases
from bot.scheduler import JobContext, periodic
from storage.db import session_scope

log = logging.getLogger(__name__)


@periodic("consultations.close", 30)
def close_due(ctx: JobContext) -> int:
    """Close every consultation past its closing time; each in its own transaction. Returns how many."""
    now = ctx.clock.now()
    with session_scope(ctx.engine) as session:
        due = service.due_for_closing(session, now)
    closed = 0
    for number in due:
        with session_scope(ctx.engine) as session:
            if usecases.close_and_post(ctx.outbox, session, ctx.settings, number, now, by_itself=True):
                closed += 1
    if closed:
        log.info("closed %d consultation(s)", closed)
    return closed
