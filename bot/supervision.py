"""Keeps each platform adapter running on its own: one that fails to start is retried with backoff
and reported on /healthz while the others keep serving; its leader-only duties (the Matrix sync
loop) follow this replica's leadership."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Protocol

from bot import metrics
from bot.outbox import Sender

log = logging.getLogger(__name__)


class PlatformAdapter(Protocol):
    """What `cercle run` needs of a chat platform.

    An adapter may also define `async start_leader_duties()` and `async stop_leader_duties()`: work
    that exactly one replica must do (the Matrix sync loop). Under `serve()`, `stop_leader_duties()` is
    called once before `start()` (so an adapter that does its duties by default, when used alone, starts
    as a follower), then `start_leader_duties()` when this replica becomes the leader, and
    `stop_leader_duties()` when it stops being the leader (or shuts down).

    And `async stop_taking_requests()`: on shutdown, before the outbox has finished with its sender,
    refuse new requests from the platform (Slack closes its Socket Mode connection); `stop()` follows.
    """

    name: str

    @property
    def sender(self) -> Sender: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> tuple[bool, str]: ...


class SupervisedAdapter:
    """Reconciles an adapter with what it should be doing: started, with leader duties iff leader."""

    def __init__(self, adapter: PlatformAdapter, *, first_delay: float = 1.0, max_delay: float = 60.0) -> None:
        self.adapter = adapter
        self.name = adapter.name
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.started = False
        self.leader = False
        self.duties = False
        self.error: str | None = None
        self.retry_in: float | None = None
        self._changed = asyncio.Event()
        self._settled = asyncio.Event()  # the last `set_leader` has been acted upon
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def _duty(self, name: str) -> Callable[[], Awaitable[None]]:
        duty: Callable[[], Awaitable[None]] = getattr(self.adapter, name)
        return duty

    @property
    def has_duties(self) -> bool:
        return callable(getattr(self.adapter, "start_leader_duties", None))

    async def first_start(self, timeout: float) -> bool:
        """Try to start once, before the service announces it runs (so Slack's routes exist when it says so).
        A failure is recorded and retried by the supervising task (`launch`)."""
        try:
            await self._as_follower()
            await asyncio.wait_for(self.adapter.start(), timeout=timeout)
        except Exception as exc:  # TimeoutError included
            self._failed(exc, self.first_delay)
            return False
        self.started = True
        log.info("platform %s started", self.name)
        return True

    def launch(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"supervise-{self.name}")

    def _failed(self, exc: BaseException, delay: float) -> None:
        self.error, self.retry_in = type(exc).__name__, delay
        metrics.PLATFORM_UP.labels(self.name).set(0)
        log.warning("platform %s: %s failed (%s); retrying in %g s", self.name,
                    "start" if not self.started else "leader duties", type(exc).__name__, delay)

    def set_leader(self, leader: bool) -> None:
        self.leader = leader
        self._settled.clear()
        self._changed.set()

    async def settle(self, timeout: float) -> bool:
        """Wait until the last `set_leader` was acted upon (duties started or stopped, or tried and failed);
        False after `timeout`. A stepping-down leader waits here before it releases the lock."""
        if self._task is None or self._task.done() or not self.started:  # never started: no duty runs
            return True
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop_taking_requests(self) -> None:
        """Shutting down: the platform's requests stop coming in (the adapter's optional method)."""
        stop = getattr(self.adapter, "stop_taking_requests", None)
        if self.started and callable(stop):
            await stop()

    async def _as_follower(self) -> None:
        if self.has_duties and not self.duties:
            await self._duty("stop_leader_duties")()

    async def _reconcile(self) -> None:
        if not self.started:
            await self._as_follower()
            await self.adapter.start()
            self.started = True
            log.info("platform %s started", self.name)
        want = self.leader and self.has_duties
        if want and not self.duties:
            await self._duty("start_leader_duties")()
            self.duties = True
            log.info("platform %s: leader duties started", self.name)
        elif not want and self.duties:
            self.duties = False
            await self._duty("stop_leader_duties")()
            log.info("platform %s: leader duties stopped", self.name)

    async def _run(self) -> None:
        delay = self.first_delay
        if self.error:  # the first start failed: wait before the next try
            await asyncio.sleep(delay)
            delay = min(self.max_delay, delay * 2)
        while not self._stopping:
            self._changed.clear()
            try:
                await self._reconcile()
                self.error, self.retry_in, delay = None, None, self.first_delay
                if not self._changed.is_set():  # else a newer wish came meanwhile: act on it first
                    self._settled.set()
                await self._changed.wait()
            except Exception as exc:  # one platform failing never stops the others
                self._failed(exc, delay)
                if not self._changed.is_set():
                    self._settled.set()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
                delay = min(self.max_delay, delay * 2)

    async def health(self) -> tuple[bool, str]:
        if not self.started:
            metrics.PLATFORM_UP.labels(self.name).set(0)
            if self.error:
                return False, f"not started ({self.error}); retrying in {self.retry_in:g} s"
            return False, "starting"
        ok, detail = await self.adapter.health()
        if self.error:
            ok, detail = False, f"{detail}; leader duties failed ({self.error}), retrying"
        metrics.PLATFORM_UP.labels(self.name).set(1 if ok else 0)
        return ok, detail

    async def stop(self) -> None:
        self._stopping = True
        self._changed.set()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.duties:
            self.duties = False
            with suppress(Exception):
                await self._duty("stop_leader_duties")()
        if self.started:
            self.started = False
            with suppress(Exception):
                await self.adapter.stop()
        metrics.PLATFORM_UP.labels(self.name).set(0)
