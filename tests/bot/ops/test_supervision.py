"""A supervised platform follows leadership: duties start when leading, stop when not; failures are retried."""

from __future__ import annotations

import asyncio
import time

from bot.supervision import SupervisedAdapter
from tests.bot.ops.support import MemoryAdapter, eventually


class DutiesFailOnce(MemoryAdapter):
    def __init__(self) -> None:
        super().__init__("memduty")
        self.duty_attempts = 0

    async def start_leader_duties(self) -> None:
        self.duty_attempts += 1
        if self.duty_attempts == 1:
            raise TimeoutError("sync timed out")
        await super().start_leader_duties()


async def test_duties_follow_leadership_and_failures_are_retried() -> None:
    adapter = DutiesFailOnce()
    supervised = SupervisedAdapter(adapter, first_delay=0.1)
    supervised.launch()
    await eventually(lambda: adapter.running)
    assert await supervised.health() == (True, "connected")
    assert adapter.duty_changes == ["stop"]  # started as a follower: it does not sync

    supervised.set_leader(True)
    await eventually(lambda: adapter.duty_attempts == 1)
    ok, detail = await supervised.health()
    assert not ok and "leader duties failed (TimeoutError)" in detail
    await eventually(lambda: adapter.duties_running)
    assert await supervised.health() == (True, "connected")

    supervised.set_leader(False)  # demoted: the next leader syncs instead
    await eventually(lambda: not adapter.duties_running)
    assert adapter.running and adapter.duty_changes == ["stop", "start", "stop"]
    supervised.set_leader(True)
    await eventually(lambda: adapter.duties_running)
    await supervised.stop()
    assert adapter.duty_changes == ["stop", "start", "stop", "start", "stop"] and not adapter.running


async def test_platform_without_duties_just_runs() -> None:
    adapter = MemoryAdapter("plain", with_duties=False)
    supervised = SupervisedAdapter(adapter, first_delay=0.1)
    supervised.launch()
    supervised.set_leader(True)
    await eventually(lambda: adapter.running)
    assert await supervised.health() == (True, "connected")
    await supervised.stop()
    assert not adapter.running


async def test_settle_waits_for_duties_to_stop_and_not_for_a_platform_that_never_started() -> None:
    class SlowToStop(MemoryAdapter):
        async def stop_leader_duties(self) -> None:
            await asyncio.sleep(0.3 if self.duties_running else 0)
            await super().stop_leader_duties()

    adapter = SlowToStop("memslow")
    supervised = SupervisedAdapter(adapter, first_delay=0.1)
    supervised.launch()
    supervised.set_leader(True)
    await eventually(lambda: adapter.duties_running)
    supervised.set_leader(False)
    assert await supervised.settle(5) and not adapter.duties_running  # waited for the 0.3 s stop
    await supervised.stop()

    broken = SupervisedAdapter(MemoryAdapter("membroken", fail_starts=100), first_delay=10)
    assert not await broken.first_start(timeout=1)
    broken.launch()
    broken.set_leader(False)
    started = time.monotonic()
    assert await broken.settle(5) and time.monotonic() - started < 0.1  # its retry is 10 s away
    await broken.stop()
