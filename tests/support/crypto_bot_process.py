"""`python -m tests.support.crypto_bot_process`: the bot's encrypting client (`CryptoBot`) in a process of
its own, so a test can kill it with SIGKILL and start another on the same database.

Configuration from the environment: CERCLE_DATABASE_URL, MATRIX_HOMESERVER, MATRIX_USER_ID,
MATRIX_PASSWORD, CERCLE_SECRET_KEY. Prints one JSON object per line: first
`{"ready": true, "device_id", "ed25519", "startup_ms"}`, then `{"answered": body, "room", "event"}`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from contextlib import suppress
from pathlib import Path

from adapters.matrix.platform import NAME, MatrixSettings
from bot.settings import Settings
from storage.db import make_engine
from tests.support.matrix_e2e import CryptoBot


def _say(**values: object) -> None:
    sys.stdout.write(json.dumps(values) + "\n")
    sys.stdout.flush()


async def main() -> None:
    env = os.environ
    matrix = MatrixSettings(homeserver=env["MATRIX_HOMESERVER"], user_id=env["MATRIX_USER_ID"],
                            password=env["MATRIX_PASSWORD"])
    settings = Settings(database_url=env["CERCLE_DATABASE_URL"],
                        secret_keys=(env["CERCLE_SECRET_KEY"],)).with_section(NAME, matrix)
    engine = make_engine(settings.database_url)
    bot = CryptoBot(engine, settings, on_answer=lambda room, event, body: _say(answered=body, room=room, event=event))
    await bot.start()
    assert bot.client is not None
    _say(ready=True, device_id=bot.client.device_id, ed25519=bot.client.identity_keys["ed25519"],
         startup_ms=round(bot.startup_ms, 1))
    await asyncio.Event().wait()  # until killed


class BotProcess:
    """A running `crypto_bot_process`, started and SIGKILLed by its pid; its output is read all along
    (a full pipe would stall it)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.ready: dict[str, object] = {}
        self.answered: list[str] = []
        self.output: list[str] = []
        self._ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 60.0) -> dict[str, object]:
        root = Path(__file__).resolve().parents[2]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.crypto_bot_process", cwd=root, env={**os.environ, **self.env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self._reader = asyncio.create_task(self._read())
        waiting = asyncio.ensure_future(self._ready.wait())
        await asyncio.wait({waiting, self._reader}, timeout=timeout,
                           return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if not self._ready.is_set():
            await self.kill()
            raise AssertionError(f"the bot process did not start: {''.join(self.output)[-3000:]}")
        return self.ready

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            text = line.decode(errors="replace")
            if not text.startswith("{"):
                self.output.append(text)
                continue
            values = dict(json.loads(text))
            if "answered" in values:
                self.answered.append(str(values["answered"]))
            if values.get("ready"):
                self.ready = values
                self._ready.set()

    async def kill(self) -> None:
        """SIGKILL: no handler, no flush, no close."""
        if self.process is not None and self.process.returncode is None:
            os.kill(self.process.pid, signal.SIGKILL)
            await self.process.wait()
        if self._reader is not None:
            with suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, timeout=5)


if __name__ == "__main__":
    asyncio.run(main())
