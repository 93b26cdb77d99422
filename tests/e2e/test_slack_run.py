"""`cercle run` with Slack settings, as an operator starts it: a real process, the fake Slack, signed
requests; a restart in the middle loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from tests.fakes.slack_api import TEAM_ID, FakeSlack
from tests.support.slack import ADMIN, ALICE, BOT_TOKEN, SIGNING_SECRET, USERS, block_text, sign

ROOT = Path(__file__).parents[2]


@asynccontextmanager
async def cercle_run(database_url: str, fake: FakeSlack, folder: Path) -> AsyncIterator[str]:
    """Start `cercle run`; yields the URL of its /slack/events; stops it with SIGTERM."""
    env = {**os.environ, "CERCLE_DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url, "CERCLE_HTTP_PORT": "0",
           "CERCLE_ADMINS": f"slack:{TEAM_ID}:{ADMIN}", "PYTHONPATH": str(ROOT)}
    env.pop("SLACK_APP_TOKEN", None)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=folder, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    lines: list[str] = []
    port = None
    try:
        while port is None:
            raw = await asyncio.wait_for(process.stderr.readline(), timeout=30)
            assert raw, "cercle run exited: " + "".join(lines)
            line = raw.decode()
            lines.append(line)
            found = re.search(r"cercle running: slack; http on 127\.0\.0\.1:(\d+)", line)
            port = int(found.group(1)) if found else None
        drain = asyncio.ensure_future(process.stderr.read())
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=20)
    rest = (await drain).decode()
    assert code == 0, rest
    assert "Traceback" not in rest and SIGNING_SECRET not in rest and BOT_TOKEN not in rest + "".join(lines)


async def _command(session: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str, user: str, trigger: str,
                   channel: str = "CGENERAL") -> None:
    body = urlencode({"team_id": TEAM_ID, "channel_id": channel, "channel_name": channel.lower(), "user_id": user,
                      "user_name": user.lower(), "command": "/cercle", "text": text,
                      "response_url": fake.response_url(trigger), "trigger_id": trigger}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with session.post(url, data=body, headers=headers) as response:
        assert response.status == 200


def _answers(fake: FakeSlack, trigger: str) -> list[str]:
    return [block_text(c.params["blocks"]) for c in fake.responses if c.method == f"response:{trigger}"]


async def test_cercle_run_serves_slack_and_survives_a_restart(database_url: str, tmp_path: Path) -> None:
    fake = FakeSlack(users=USERS)
    await fake.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with cercle_run(database_url, fake, tmp_path) as url:
                await _command(session, url, fake, 'community create garden "Garden"', ADMIN, "trig.1")
                await fake.wait_for(lambda: _answers(fake, "trig.1"), timeout=10)
                await _command(session, url, fake, "community link garden", ADMIN, "trig.2", channel="CGARDEN")
                await _command(session, url, fake, 'share garden https://example.org/seeds "Seeds"', ADMIN, "trig.3")
                # The delivery worker of `cercle run` posts the share to the linked channel.
                await fake.wait_for(lambda: fake.posted("CGARDEN"), timeout=10)
                async with session.get(url.replace("/slack/events", "/healthz")) as health:
                    assert json.loads(await health.text())["checks"]["slack"]["ok"] is True
            assert "Community Garden (garden) created" in _answers(fake, "trig.1")[0]
            async with cercle_run(database_url, fake, tmp_path) as url:
                # Slack retries the first command after the restart: already handled, nothing happens.
                await _command(session, url, fake, 'community create garden "Garden"', ADMIN, "trig.1")
                await _command(session, url, fake, "community join garden", ALICE, "trig.4")
                await fake.wait_for(lambda: _answers(fake, "trig.4"), timeout=10)
                await asyncio.sleep(0.3)
        assert len(_answers(fake, "trig.1")) == 1
        assert "Welcome to Garden" in _answers(fake, "trig.4")[0]
        assert len(fake.posted("CGARDEN")) == 1  # the share, sent once across the restart
    finally:
        await fake.stop()
