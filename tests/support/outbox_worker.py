"""A delivery worker in a process of its own, with the real Slack sender (the crash tests kill it with SIGKILL).

    python -m tests.support.outbox_worker <database url> <slack api url> <lease seconds>
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import aiohttp

from adapters.slack.app import make_client
from adapters.slack.sender import SlackSender
from bot.outbox.worker import DeliveryWorker
from storage.db import make_engine


async def main(database_url: str, api_url: str, lease: float) -> None:
    engine = make_engine(database_url)
    async with aiohttp.ClientSession() as session:  # keep-alive, as a long-running worker would
        sender = SlackSender(make_client("xoxb-worker", api_url, session=session))
        worker = DeliveryWorker(engine, {"slack": sender}, lease=timedelta(seconds=lease),
                                send_timeout=lease / 4, poll_interval=0.1)
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
