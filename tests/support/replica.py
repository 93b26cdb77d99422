"""One Cercle replica for end-to-end tests: `python -m tests.support.replica` runs the real `serve()`
(HTTP, leadership, delivery worker, the scheduler with every capability's jobs, real digests included) with
platforms that append what they send to a file, and a fast digest-like job unique per period, like digests.
Files (in `CERCLE_E2E_DIR`): `port-<pid>` (the HTTP port), `sent.log` ("<outbox id> <pid>" per message
sent), `jobs.log` ("<pid> <period> <time>" per run of the fast job).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path

from bot import logs
from bot.app import build, default_platforms, serve
from bot.http import HttpServer
from bot.messages import Message
from bot.outbox import Outgoing
from bot.scheduler import JobContext, PeriodicJob
from bot.settings import load_settings
from storage.db import session_scope

DIGEST_PERIOD = 1.0  # seconds: one "digest" per period


def append(path: Path, line: str) -> None:
    """One whole line per write, flushed to disk before returning (the process may be killed right after)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


class FileSender:
    def __init__(self, path: Path, platform: str) -> None:
        self.path = path
        self.platform = platform

    async def send(self, item: Outgoing) -> str:
        append(self.path, f"{item.id} {os.getpid()}")
        return f"file-{item.id}"


class FileAdapter:
    """A platform (`file`, or `console` so the capabilities' channel messages, such as digests, go out here)."""

    def __init__(self, folder: Path, platform: str) -> None:
        self.name = platform
        self.sender = FileSender(folder / "sent.log", platform)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def health(self) -> tuple[bool, str]:
        return True, "writing to sent.log"


def digest_job(folder: Path) -> PeriodicJob:
    def run(ctx: JobContext) -> None:
        period, started = int(time.time() // DIGEST_PERIOD), time.time()
        with session_scope(ctx.engine) as session:
            ctx.outbox.enqueue(session, platform="file", workspace="w", target_kind="channel", target_id="digests",
                               message=Message.text(f"digest {period}"), subject=f"digest:{period}",
                               dedupe_key=f"digest:{period}")
        # Logged once its digest is committed: a run cut short by a stop (its transaction rolled back) is not
        # a run that should have produced a digest.
        append(folder / "jobs.log", f"{os.getpid()} {period} {started:.3f}")

    return PeriodicJob("e2e-digest", DIGEST_PERIOD / 4, run)


async def main() -> None:
    folder = Path(os.environ["CERCLE_E2E_DIR"])
    settings = load_settings(dotenv_path=None, platforms=default_platforms())
    app = build(settings)
    app.assembly = replace(app.assembly, jobs=(*app.assembly.jobs, digest_job(folder)))
    http = HttpServer(app.engine, "127.0.0.1", 0)
    adapters = [FileAdapter(folder, "file"), FileAdapter(folder, "console")]
    task = asyncio.create_task(serve(app, adapters=adapters, http=http, gauges_interval=1.0))
    while http.bound_port is None and not task.done():
        await asyncio.sleep(0.05)
    if http.bound_port is not None:
        append(folder / f"port-{os.getpid()}", str(http.bound_port))
    await task


if __name__ == "__main__":
    logs.configure()
    asyncio.run(main())
