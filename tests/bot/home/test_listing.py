"""The shape home sections share (`bot.home_sections.listing`): nothing for nothing, a few items, then where
to see the rest. Pure: no database, the blocks themselves are compared."""

from __future__ import annotations

from bot.home_sections import ITEM_LIMIT, lines_listing, listing
from bot.messages import Block, Context, Section


def _item(n: int) -> list[Block]:
    return [Section(text=f"item {n}"), Context(f"about {n}")]


def test_nothing_to_show_shows_nothing() -> None:
    assert listing([], _item, heading=Section(title="Things"), more="All of them: x.", note="Hint.") == []
    assert lines_listing("Things", [], str, more="All of them: x.") == []


def test_a_short_list_has_its_heading_its_items_and_its_note_but_no_more() -> None:
    blocks = listing([1, 2], _item, heading=Section(title="Things"), more="All of them: x.", note="Hint.")
    assert blocks == [Section(title="Things"), *_item(1), *_item(2), Context("Hint.")]


def test_a_long_list_stops_at_the_limit_and_says_where_the_rest_is() -> None:
    items = list(range(ITEM_LIMIT + 3))
    blocks = listing(items, _item, more="All of them: x.")
    assert blocks == [b for n in items[:ITEM_LIMIT] for b in _item(n)] + [Context("All of them: x.")]
    counted = listing(items, _item, more=lambda n: f"{n} more", limit=2)
    assert counted[-1] == Context(f"{ITEM_LIMIT + 1} more")


def test_a_total_beyond_the_items_counts_the_rest_and_keeps_the_heading_without_items() -> None:
    # HR's queue: none of its rows in HR's hands, yet some wait for the nominee.
    assert listing([], _item, heading=Section(title="Queue"), more=lambda n: f"{n} more", total=3) == [
        Section(title="Queue"), Context("3 more")]
    assert listing([1], _item, more=lambda n: f"{n} more", total=1) == _item(1)


def test_a_list_of_lines_is_one_titled_section() -> None:
    blocks = lines_listing("Things", ["c", "b", "a"], str.upper, more="All of them: x.", limit=2)
    assert blocks == [Section(title="Things", lines=("C", "B")), Context("All of them: x.")]
    assert lines_listing("Things", ["a"], str.upper, note="Hint.") == [Section(title="Things", lines=("A",)),
                                                                       Context("Hint.")]
