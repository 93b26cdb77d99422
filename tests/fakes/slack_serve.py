"""FakeSlack served away from the test's event loop: in a thread (for workers in other processes, that
the test watches synchronously) or in a process of its own (the benchmark: no GIL shared with the bot).

    python -m tests.fakes.slack_serve '{"rate_per_channel": 1.0, "workspace_rate": 250}'
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.fakes.slack_api import FakeSlack


@contextmanager
def running_fake(**options: Any) -> Iterator[FakeSlack]:
    """A FakeSlack on a loop in a thread of its own; read it from the test's thread."""
    fake = FakeSlack(**options)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake Slack did not start")
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class RemoteFake:
    """A FakeSlack in another process: its URL and what it received, read over HTTP."""

    def __init__(self, api_url: str, stats_url: str) -> None:
        self.api_url = api_url
        self.stats_url = stats_url

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.stats_url, timeout=30) as resp:
            return dict(json.loads(resp.read()))

    def posts_by_key(self) -> Counter[str]:
        return Counter({k: int(n) for k, n in self.stats()["posts"].items()})

    @property
    def rate_limited(self) -> int:
        return int(self.stats()["rate_limited"])


@contextmanager
def fake_process(**options: Any) -> Iterator[RemoteFake]:
    """A FakeSlack in a child process, stopped on exit."""
    text = json.dumps(options)
    if len(text) > 64_000:  # thousands of users: too long for a command line, handed over in a file
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as file:
            file.write(text)
        text = "@" + file.name
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.slack_serve", text],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError("the fake Slack did not start")
        yield RemoteFake(f"http://127.0.0.1:{port}/api/", f"http://127.0.0.1:{port}/_stats")
    finally:
        proc.terminate()
        proc.wait(10)


async def _serve_forever(options: dict[str, Any]) -> None:
    fake = FakeSlack(**options)
    await fake.start()
    print(fake.port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    argument = sys.argv[1]
    if argument.startswith("@"):
        path = Path(argument[1:])
        argument = path.read_text(encoding="utf-8")
        path.unlink()
    asyncio.run(_serve_forever(json.loads(argument)))
