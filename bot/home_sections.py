"""What a capability contributes to a person's home: "what is waiting for me", one section each.

The home (the `home` command, Slack's Home tab) asks every section of the assembly, in `order`, for
the blocks it shows one person: things to do first (a crisis to acknowledge, a vote, a consent), then
what the person follows (their nominations, their communities), then their role's views (HR's queue,
a communicator's progress, a manager's health figures). A section shows only what the person may see,
builds its text in the current language and zone (the caller's), and keeps to a few queries: the view
is rebuilt each time it is opened or refreshed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from bot.messages import Block, Context, Section
from bot.settings import Settings

ITEM_LIMIT = 5  # items of one list on a home (the full list is one command away)
T = TypeVar("T")


@dataclass(frozen=True)
class HomeViewer:
    """Whose home is being built, and when."""

    person_id: int
    settings: Settings
    now: datetime
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def once(self, key: str, make: Callable[[], T]) -> T:
        """`make()`, computed once per home: sections asking the same (the person's memberships) share it."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]


class HomeSection(Protocol):
    """A capability's part of the home (declared in its `Capability.home_sections`)."""

    key: str  # names it in logs, e.g. "crises"
    order: int  # to do first (10-39), what the person follows (40-69), role views (70-99)

    def blocks(self, session: Session, viewer: HomeViewer) -> list[Block]:
        """The section's blocks for `viewer`, in the current language; [] when it has nothing to show."""
        ...



def listing(items: Sequence[T], show: Callable[[T], Iterable[Block]], *, heading: Block | None = None,
            more: str | Callable[[int], str] = "", note: str = "", total: int | None = None,
            limit: int = ITEM_LIMIT) -> list[Block]:
    """The shape most sections share, so that a section only says what is its own (its query, heading, items):
    nothing when there is nothing (`total`, the items by default); else the heading, the blocks of the first
    `limit` items, where to see the rest (`more`, or `more(n)` of the n left out) when some are, a closing `note`."""
    count = len(items) if total is None else total
    if not count:
        return []
    shown = items[:limit]
    blocks: list[Block] = [heading] if heading is not None else []
    for item in shown:
        blocks.extend(show(item))
    left = count - len(shown)
    if left > 0 and more:
        blocks.append(Context(more(left) if callable(more) else more))
    if note:
        blocks.append(Context(note))
    return blocks


def lines_listing(title: str, items: Sequence[T], line: Callable[[T], str], *, more: str = "", note: str = "",
                  limit: int = ITEM_LIMIT) -> list[Block]:
    """`listing` as one titled section with a line per item (a short list: your nominations, your communities)."""
    if not items:
        return []
    heading = Section(title=title, lines=tuple(line(item) for item in items[:limit]))
    return listing(items, lambda _item: (), heading=heading, more=more, note=note, limit=limit)
