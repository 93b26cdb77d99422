"""Short garbage-collector pauses in a long-running process.

What is alive once Cercle has started (modules, the application, SQLAlchemy's mappers, Bolt's listeners)
lives until the process ends, yet every full collection walks all of it again, and no thread runs meanwhile.
Measured under a burst of clicks (`tests/bench/bench_slack_acks.py`): a 150–200 ms pause every ~10 s, which
every acknowledgement in flight waited for. `gc.freeze()` moves what is alive now out of the collector's
reach (the use Python's documentation gives it), and full passes then take 20–30 ms.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect once, then exempt every object alive now from later collections; returns how many."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("start-up heap frozen: %d objects out of the collector's reach", frozen)
    return frozen
