"""Long lists in chat: one page at a time, the rest announced with the command that shows it, and names
sorted the way people read them (user2 before user10).

    shown = paginate(rows, page)
    lines = [...for row in shown.items]
    more = shown.more(lambda n: _("community members {slug} --page {page}", slug=slug, page=n))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.commands.registry import INT, Opt
from bot.errors import UserError
from bot.i18n import _, ngettext

T = TypeVar("T")

PAGE_SIZE = 20
PAGE = Opt("page", INT)  # `--page 2`: the same word in French
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading numbers as numbers and ignoring case: user1, user2, user10 (not user1, user10, user2)."""
    return tuple((1, int(part)) if part.isdigit() else (0, part.casefold())
                 for part in _DIGITS.split(text) if part)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, its number (from 1) and what is left after it."""

    items: list[T]
    number: int
    total: int
    size: int

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.number * self.size)

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first item in the whole list."""
        return (self.number - 1) * self.size + 1

    def more(self, next_command: Callable[[int], str]) -> str:
        """"and 283 more: community members ops --page 2" (empty on the last page). `next_command(n)`: the
        command, in the reader's language, that shows page n."""
        if not self.remaining:
            return ""
        return ngettext("and {n} more: {command}", "and {n} more: {command}", self.remaining,
                        command=next_command(self.number + 1))


def paginate(items: Sequence[T], page: int | None, size: int = PAGE_SIZE) -> Page[T]:
    """Page `page` (1 when None) of `items`; asking past the last page is refused, with how many there are."""
    number = page or 1
    pages = max(1, -(-len(items) // size))
    if number < 1 or number > pages:
        raise UserError(ngettext("There is only {n} page.", "There are only {n} pages.", pages))
    start = (number - 1) * size
    return Page(list(items[start:start + size]), number, len(items), size)


def page_of_total(items: list[T], page: int | None, total: int, size: int = PAGE_SIZE) -> Page[T]:
    """A page whose items were fetched by the query itself (LIMIT/OFFSET), out of `total`."""
    number = page or 1
    pages = max(1, -(-total // size))
    if number < 1 or number > pages:
        raise UserError(ngettext("There is only {n} page.", "There are only {n} pages.", pages))
    return Page(items, number, total, size)


def offset(page: int | None, size: int = PAGE_SIZE) -> int:
    return ((page or 1) - 1) * size


def page_title(title: str, shown: Page[T]) -> str:
    """The list's title, with "(page 2 of 16)" after the first page."""
    if shown.number == 1:
        return title
    pages = max(1, -(-shown.total // shown.size))
    return _("{title} (page {page} of {pages})", title=title, page=shown.number, pages=pages)


__all__ = ["PAGE", "PAGE_SIZE", "Page", "natural_key", "offset", "page_of_total", "page_title", "paginate"]
