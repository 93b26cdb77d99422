"""What a capability contributes to community digests: a section, gathered for many communities at once.

Digests are built in batches (hundreds of communities in one transaction). Each capability's
`DigestSection` answers for a whole batch with a fixed number of queries, whatever the batch's or the
communities' sizes, and returns one `DigestPart` per community with something to say. The digests
capability asks every section of its assembly, in `order`, and lays the parts out: their blocks in
the body, their figures under "Health". A part is shown in each channel's language: it keeps data,
and translates only in `blocks()` and `figures()`. Sections never show anything confidential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from bot.messages import Block, Field

LIST_LIMIT = 10  # items of one list in a digest


@dataclass(frozen=True)
class DigestBatch:
    """The communities of one batch and the half-open period [start, end) their digests cover."""

    community_ids: tuple[int, ...]
    start: datetime
    end: datetime


class DigestPart(Protocol):
    """One capability's part of one community's digest."""

    @property
    def has_news(self) -> bool:
        """Something happened: a digest where no part has news is a one-line "quiet period"."""
        ...

    def blocks(self) -> list[Block]:
        """Sections of the digest's body, in the current language."""
        ...

    def figures(self) -> list[Field]:
        """Health figures, in the current language."""
        ...


class DigestSection(Protocol):
    """A capability's contribution to digests (declared in its `Capability.digest_sections`)."""

    key: str  # names it in logs, e.g. "positions"
    order: int  # where its parts go: communities 10, consultations and ideas 20, referrals 30

    def gather(self, session: Session, batch: DigestBatch) -> Mapping[int, DigestPart]:
        """The parts of the batch's communities (a community with nothing to show may be left out)."""
        ...


def capped(entity: Any, partition: Any, order: tuple[Any, ...], where: Any, limit: int) -> Any:
    """`entity` rows matching `where`, at most `limit` per `partition` in `order` (a window function): one
    query caps a list for every community of a batch."""
    rank = func.row_number().over(partition_by=partition, order_by=order).label("rank")
    sub = select(entity, rank).where(where).subquery()
    return select(aliased(entity, sub)).where(sub.c.rank <= limit).order_by(sub.c[partition.key], sub.c.rank)
