"""What both a command and a job do with consultations: close one and post its results, once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.communities import service as communities
from bot.consultations import messaging, service
from bot.outbox import Outbox
from bot.settings import Settings


def post_results(outbox: Outbox, session: Session, settings: Settings, tally: service.Tally) -> None:
    """Post the final results to every linked channel, once per channel."""
    assert tally.community.id is not None
    for channel in communities.channels(session, tally.community.id):
        outbox.send_to_channel(session, settings, channel, lambda: messaging.results(tally, final=True),
                               subject=f"consultation:{tally.consultation.id}",
                               dedupe_key=f"consultation:{tally.consultation.id}:results:{channel.id}")


def close_and_post(outbox: Outbox, session: Session, settings: Settings, number: int, now: datetime, *,
                   by_itself: bool = False) -> bool:
    """Close a consultation and post its results; False when it was already closed. `by_itself`: its
    closing time came (the job), so its managers are told in private that a decision is awaited."""
    consultation, community = service.get(session, number)
    if not service.close(session, consultation, now):
        return False
    tally = service.tally(session, consultation, community)
    post_results(outbox, session, settings, tally)
    outbox.refresh(session, f"consultation:{number}", now)  # its posts show it closed
    if by_itself:
        assert community.id is not None
        managers = communities.manager_ids(session, community.id)
        for person_id in dict.fromkeys([*managers, *([consultation.created_by] if consultation.created_by else [])]):
            outbox.send_to_person(session, settings, person_id, lambda: messaging.closed_by_itself(tally),
                                  subject=f"consultation:{number}",
                                  dedupe_key=f"consultation:{number}:closed:{person_id}", now=now)
    return True
