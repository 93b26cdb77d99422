"""What `cercle run` does when told to stop (SIGTERM from systemd, Kubernetes or Docker; SIGINT), and how
long it may take.

Everything happens within `STOP_BUDGET` seconds of the signal: deploy/cercle.service's `TimeoutStopSec`,
the Kubernetes `terminationGracePeriodSeconds` and compose's `stop_grace_period` leave a margin on top of it
(`tests/deploy/test_deploy_files.py` checks them against this constant).

1. At once, together:
   - the HTTP listener stops taking connections; requests already received get `HTTP_GRACE` seconds;
   - the platforms stop taking requests (Slack's Socket Mode connection closes; Matrix is read by the
     leader's sync loop, which stops with the leadership);
   - the delivery worker stops claiming: rows waiting for their turn are given back at once, sends already
     handed to a platform get `bot.outbox.worker.STOP_GRACE` seconds, the rest are given back in doubt
     (`bot.outbox.release`), so another replica sends them at once, and never twice;
   - the leadership is released: the scheduler stops, the leader's duties stop, then the lock's connection
     closes, and a follower leads at its next try (every 2 s).
2. Then the platforms stop: replies to requests being handled go out, clients close.

What is still running when the budget is spent is abandoned (and logged); a row it held returns when its
lease ends, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.http import HttpServer
    from bot.leadership import Leadership
    from bot.outbox.worker import DeliveryWorker
    from bot.supervision import SupervisedAdapter

log = logging.getLogger(__name__)

STOP_BUDGET = 20.0  # seconds from the signal to the end of `serve()`
HTTP_GRACE = 5.0  # seconds for the HTTP requests already received (Slack wants its answer within 3 s)
DUTIES_GRACE = 5.0  # seconds for a platform to stop its leader-only duties before the lock is released


async def shut_down(*, http: HttpServer, adapters: Sequence[SupervisedAdapter], worker: DeliveryWorker,
                    leadership: Leadership, tasks: Sequence[asyncio.Task[Any]], budget: float = STOP_BUDGET) -> float:
    """Stop a running service in the order above; returns the seconds it took. `tasks` are the service's
    own (the delivery worker's, the leadership's...): they end once told to."""
    started = time.monotonic()
    deadline = started + budget
    log.info("cercle stopping: no new requests; giving back undelivered rows; releasing the leadership")
    worker.stop()
    leadership.stop()
    await _within("stop taking work", [http.stop(), *(a.stop_taking_requests() for a in adapters)], tasks,
                  deadline)
    await _within("stop the platforms", [a.stop() for a in adapters], (), deadline)
    took = time.monotonic() - started
    log.info("cercle stopped in %.1f s", took)
    return took


async def _within(step: str, calls: Sequence[Awaitable[None]], tasks: Sequence[asyncio.Task[Any]],
                  deadline: float) -> None:
    """Run `calls` and wait for them and `tasks` until `deadline`; abandon (cancel) what is left then."""
    waiting = [asyncio.ensure_future(c) for c in calls] + list(tasks)
    if not waiting:
        return
    _done, late = await asyncio.wait(waiting, timeout=max(0.0, deadline - time.monotonic()))
    for task in late:
        task.cancel()
    if late:
        log.warning("cercle stopping: %s took too long; abandoned %d task(s)", step, len(late))
        await asyncio.wait(late, timeout=1.0)
    for task in waiting:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.warning("cercle stopping: %s: %s", step, type(task.exception()).__name__)
