"""Two `cercle run` processes for Slack (HTTP mode) on one PostgreSQL database, behind one "load balancer":
Slack's requests land on either replica. The leader is killed with `kill -9`; the other takes over, and no
reply or delivery is lost or doubled, including Slack's retry of a request the dead replica had answered."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.support.slack import ADMIN, ALICE, BOT_TOKEN, SIGNING_SECRET, USERS, block_text, sign

ROOT = Path(__file__).parents[2]


class CercleRun:
    """`cercle run` as an operator starts it, with Slack settings pointed at the fake Web API."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, early: list[str]) -> None:
        self.process = process
        self.port = port
        self.early = early
        assert process.stderr is not None
        self.rest = asyncio.ensure_future(process.stderr.read())

    @classmethod
    async def start(cls, database_url: str, fake: FakeSlack, folder: Path) -> CercleRun:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
        env.update({"CERCLE_DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url, "CERCLE_HTTP_PORT": "0",
                    "CERCLE_ADMINS": f"slack:{TEAM_ID}:{ADMIN}", "PYTHONPATH": str(ROOT)})
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=folder, env=env,
                                                       stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        lines: list[str] = []
        while True:
            raw = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert raw, "cercle run exited: " + "".join(lines)
            lines.append(raw.decode())
            found = re.search(r"cercle running: slack; http on 127\.0\.0\.1:(\d+)", lines[-1])
            if found:
                return cls(process, int(found.group(1)), lines)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
            return dict(json.loads(await response.text()))

    async def role(self, session: aiohttp.ClientSession) -> str:
        return str((await self.health(session))["checks"]["leadership"]["detail"]).split(" ")[0]

    async def output(self) -> str:
        return "".join(self.early) + (await self.rest).decode(errors="replace")


async def command(session: aiohttp.ClientSession, replica: CercleRun, fake: FakeSlack, text: str, user: str,
                  trigger: str, channel: str = "CGENERAL", retry: int = 0) -> None:
    body = urlencode({"team_id": TEAM_ID, "channel_id": channel, "channel_name": channel.lower(), "user_id": user,
                      "user_name": user.lower(), "command": "/cercle", "text": text,
                      "response_url": fake.response_url(trigger), "trigger_id": trigger}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    async with session.post(replica.events_url, data=body, headers=headers) as response:
        assert response.status == 200


def answers(fake: FakeSlack, trigger: str) -> list[str]:
    return [block_text(c.params["blocks"]) for c in fake.responses if c.method == f"response:{trigger}"]


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.postgres_only
async def test_two_cercle_run_replicas_survive_kill_9_of_the_leader(postgres_engine: Engine, tmp_path: Path) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    fake = FakeSlack(users=USERS)
    await fake.start()
    replicas: list[CercleRun] = []
    try:
        async with aiohttp.ClientSession() as session:
            a = await CercleRun.start(url, fake, tmp_path)
            replicas.append(a)

            async def a_leads() -> bool:
                return await a.role(session) == "leader"

            await eventually(a_leads, 20, "the first replica to lead")
            b = await CercleRun.start(url, fake, tmp_path)
            replicas.append(b)
            await asyncio.sleep(2.5)
            assert (await a.role(session), await b.role(session)) == ("leader", "follower")
            health = await b.health(session)
            assert health["status"] == "ok" and health["checks"]["slack"]["ok"] is True

            # Requests land on either replica; the outbox goes out once whoever delivers it.
            await command(session, a, fake, 'community create garden "Garden"', ADMIN, "trig.1")
            await fake.wait_for(lambda: answers(fake, "trig.1"), timeout=10)
            await command(session, b, fake, "community link garden", ADMIN, "trig.2", channel="CGARDEN")
            await fake.wait_for(lambda: answers(fake, "trig.2"), timeout=10)
            await command(session, b, fake, 'share garden https://example.org/seeds "Seeds"', ADMIN, "trig.3")
            await fake.wait_for(lambda: len(fake.posted("CGARDEN")) == 1, timeout=10)
            # Slack retries trig.1 on the other replica: handled once already, no second reply.
            await command(session, b, fake, 'community create garden "Garden"', ADMIN, "trig.1", retry=1)

            # The leader dies.
            a.process.send_signal(signal.SIGKILL)
            await a.process.wait()

            async def b_leads() -> bool:
                return await b.role(session) == "leader"

            takeover = await eventually(b_leads, 15, "the survivor to lead")
            assert takeover < 6, f"takeover took {takeover:.1f} s"

            # Slack retries a request the dead replica answered; the survivor does not answer it twice.
            await command(session, b, fake, 'community create garden "Garden"', ADMIN, "trig.1", retry=2)
            await command(session, b, fake, "community join garden", ALICE, "trig.4")
            await fake.wait_for(lambda: answers(fake, "trig.4"), timeout=10)
            await command(session, b, fake, 'share garden https://example.org/soil "Soil"', ALICE, "trig.5")
            await fake.wait_for(lambda: len(fake.posted("CGARDEN")) == 2, timeout=10)
            await asyncio.sleep(1.0)

            b.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(b.process.wait(), 20) == 0, await b.output()
        out = await b.output()
        assert "Traceback" not in out and BOT_TOKEN not in out and SIGNING_SECRET not in out
        assert [len(answers(fake, f"trig.{i}")) for i in range(1, 6)] == [1, 1, 1, 1, 1]
        assert "Community Garden (garden) created" in answers(fake, "trig.1")[0]
        assert "Welcome to Garden" in answers(fake, "trig.4")[0]
        posted = [block_text(c.params.get("blocks") or []) + c.params.get("text", "") for c in fake.posted("CGARDEN")]
        assert len(posted) == 2 and "Seeds" in posted[0] and "Soil" in posted[1]
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                replica.process.kill()
                await replica.process.wait()
        await fake.stop()
