"""Small real adapters for running `serve()` in tests: they deliver into memory, and can fail to start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.chat import RecordingSender


class MemoryAdapter:
    """A platform whose messages land in a list; `fail_starts` first starts raise ConnectionError."""

    def __init__(self, name: str, *, fail_starts: int = 0, with_duties: bool = True) -> None:
        self.name = name
        self.sender = RecordingSender(name)
        self.fail_starts = fail_starts
        self.start_calls = 0
        self.running = False
        self.duties_running = False
        self.duty_changes: list[str] = []
        self.with_duties = with_duties

    async def start(self) -> None:
        self.start_calls += 1
        if self.start_calls <= self.fail_starts:
            raise ConnectionError("homeserver unreachable")
        self.running = True

    async def stop(self) -> None:
        self.running = False

    async def health(self) -> tuple[bool, str]:
        return self.running, "connected" if self.running else "stopped"

    async def start_leader_duties(self) -> None:
        self.duties_running = True
        self.duty_changes.append("start")

    async def stop_leader_duties(self) -> None:
        self.duties_running = False
        self.duty_changes.append("stop")

    def __getattribute__(self, name: str) -> Any:
        """Without duties, the adapter has no leader-duty methods at all (as a Slack adapter has none)."""
        if name in ("start_leader_duties", "stop_leader_duties") and not object.__getattribute__(self, "with_duties"):
            raise AttributeError(name)
        return object.__getattribute__(self, name)


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def get_json(port: int, path: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, await resp.json()


async def get_text(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


class TcpProxy:
    """A loopback TCP proxy whose existing connections can be frozen: bytes stop flowing both ways but no
    socket is closed, as when a NAT or a firewall silently drops one flow. New connections work."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.frozen: set[int] = set()
        self._next = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    def freeze_existing(self) -> None:
        self.frozen.update(range(self._next))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flow = self._next
        self._next += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                while flow in self.frozen:
                    await asyncio.sleep(3600)
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
