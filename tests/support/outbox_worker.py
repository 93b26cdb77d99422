"""A delivery worker in a process of its own (the crash tests kill it with SIGKILL).

    python -m tests.support.outbox_worker <database url> <slack api url> <lease seconds>
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from bot.delivery import DeliveryWorker
from storage.db import make_engine
from tests.support.slack_web import SlackLikeSender


async def main(database_url: str, api_url: str, lease: float) -> None:
    engine = make_engine(database_url)
    worker = DeliveryWorker(engine, {"slack": SlackLikeSender(api_url)}, lease=timedelta(seconds=lease),
                            send_timeout=lease / 4, poll_interval=0.1)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
