"""What a capability contributes to a person's home: "what is waiting for me", one section each.

The home (the `home` command, Slack's Home tab) asks every section of the assembly, in `order`, for
the blocks it shows one person: things to do first (a crisis to acknowledge, a vote, a consent), then
what the person follows (their nominations, their communities), then their role's views (HR's queue,
a communicator's progress, a manager's health figures). A section shows only what the person may see,
builds its text in the current language and zone (the caller's), and keeps to a few queries: the view
is rebuilt each time it is opened or refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from bot.messages import Block
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

