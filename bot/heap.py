"""Short and rare garbage-collector pauses in a long-running process.

No thread runs during a full collection, so every request in flight waits for it. Measured under a burst of
clicks (`tests/bench/bench_slack_acks.py`, 5,000 clicks in 60 s):

- What is alive once Cercle has started (modules, the application, SQLAlchemy's mappers, Bolt's listeners,
  about 165,000 objects) lives until the process ends, yet every full pass walked it again: 100–200 ms every
  ~10 s. `gc.freeze()` moves it out of the collector's reach (the use Python's documentation gives it).
- Clicks waiting for their command hold a couple of hundred objects each, so under a backlog the collected
  heap still grows to ~200,000 objects, and full passes came every few seconds. One full pass per 100
  middle-generation passes (Python's default: 10) makes them rare; the young passes, which collect most
  garbage, are unchanged.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

FULL_PASS_EVERY = 100  # middle-generation passes between two full ones


def settle_heap() -> int:
    """Once started: collect, exempt every object alive now from later passes, and make full passes rarer.
    Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)
    frozen = gc.get_freeze_count()
    log.debug("start-up heap frozen: %d objects out of the collector's reach", frozen)
    return frozen
