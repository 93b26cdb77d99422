"""Settling the heap once started (bot/heap.py): what is alive then leaves the collector's passes, full
passes come rarely, and garbage made later is still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot.heap import FULL_PASS_EVERY, settle_heap


class Node:
    """An object that can be part of a reference cycle (only the collector frees those)."""

    peer: Node | None = None


@pytest.fixture
def thawed() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of the test run collects as before
    gc.set_threshold(*thresholds)


def test_start_up_objects_leave_the_passes_and_later_cycles_are_still_collected(thawed: None) -> None:
    kept = Node()
    kept.peer = kept  # alive at start-up, as the application is
    young, middle, _full = gc.get_threshold()
    frozen = settle_heap()
    assert frozen > 0 and gc.get_freeze_count() == frozen
    assert gc.get_threshold() == (young, middle, FULL_PASS_EVERY)
    walked = {id(o) for o in gc.get_objects()}
    assert id(kept) not in walked  # a full pass no longer walks it

    later = Node()
    later.peer = later  # garbage made once running: a cycle
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None
