"""`cercle run` with Matrix settings: the adapter, the delivery worker and /healthz wired together."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from contextlib import suppress

import pytest

from bot.app import serve
from tests.support.matrix import MatrixWorld
from tests.support.synapse import free_port

pytestmark = pytest.mark.synapse


def _healthz(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        return dict(json.loads(exc.read()))


async def test_cercle_run_serves_matrix_with_its_outbox_and_health(matrix: MatrixWorld) -> None:
    port = free_port()
    app = matrix.build(http_port=port)
    stop = asyncio.Event()
    running = asyncio.create_task(serve(app, stop=stop))
    try:
        alice = await matrix.user("alice")
        bob = await matrix.user("bob")
        general = await matrix.room_with_bot(alice, bob)  # the bot accepts once its sync runs
        data = await matrix.room_with_bot(alice, name="data")
        health = await asyncio.to_thread(_healthz, port)
        assert health["status"] == "ok"
        assert health["checks"]["matrix"] == {"ok": True, "detail": "connected"}  # type: ignore[index]

        await alice.send(general, '!cercle community create data "Data"')
        await alice.expect(sender=matrix.bot_id, contains="created")
        await alice.send(data, "!cercle community link data")
        await alice.expect(data, sender=matrix.bot_id, contains="now linked")
        await bob.send(general, "!cercle community join data")
        await bob.send(general, '!cercle share data https://example.org/a "Article"')
        await alice.expect(data, sender=matrix.bot_id, contains="shared a resource")  # via the outbox worker
    finally:
        stop.set()
        with suppress(Exception):
            await asyncio.wait_for(running, timeout=20)


async def test_the_bot_can_run_on_an_access_token(matrix: MatrixWorld) -> None:
    account = matrix.bot_account
    await matrix.start_bot(password=None, access_token=account.access_token)
    bot = matrix.bots[-1]
    assert bot.adapter is not None and bot.adapter.client.device_id == account.device_id
    carol = await matrix.user("carol")
    room = await matrix.direct_room(carol)
    await carol.send(room, "profile skills tokens")
    await carol.expect(room, sender=matrix.bot_id, contains="Your skills: tokens")
