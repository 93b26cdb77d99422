"""How homeserver answers map onto the outbox's retry rules, against a local HTTP homeserver stand-in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from nio import AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlmodel import select

from adapters.matrix.transport import client_config, send_event
from bot.messages import Message
from bot.outbox import DeliveryError, Outgoing, enqueue
from bot.outbox.worker import DeliveryWorker
from storage.db import session_scope
from storage.tables import OutboxMessage


async def _send(request: web.Request) -> web.Response:
    room = request.match_info["room"]
    if room.startswith("!busy"):
        return web.json_response({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests",
                                  "retry_after_ms": 1500}, status=429)
    if room.startswith("!slow"):
        return web.json_response({"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests",
                                  "retry_after_ms": 86_400_000}, status=429)
    if room.startswith("!gone"):
        return web.json_response({"errcode": "M_FORBIDDEN", "error": "not in room"}, status=403)
    if room.startswith("!broken"):
        return web.json_response({"errcode": "M_UNKNOWN", "error": "internal"}, status=500)
    return web.json_response({"event_id": f"$ev-{request.match_info['txn']}"})


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    app = web.Application()
    app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{type}/{txn}", _send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    nio_client = AsyncClient(f"http://127.0.0.1:{port}", "@cercle:hs", config=client_config())
    nio_client.restore_login("@cercle:hs", "DEVICE", "secret-token")
    yield nio_client
    await nio_client.close()
    await runner.cleanup()


async def test_a_sent_event_returns_its_id_and_uses_the_transaction_id(client: AsyncClient) -> None:
    assert await send_event(client, "!room:hs", "m.room.message", {"body": "x"}, "cercle-out-7") == "$ev-cercle-out-7"


def _rate_limited() -> float:
    return REGISTRY.get_sample_value("cercle_rate_limited_total", {"platform": "matrix"}) or 0.0


async def test_rate_limit_is_retry_after_without_sleeping(client: AsyncClient) -> None:
    counted = _rate_limited()
    started = time.monotonic()
    with pytest.raises(DeliveryError) as error:
        await send_event(client, "!busy:hs", "m.room.message", {"body": "x"}, "t1")
    assert time.monotonic() - started < 1.0  # matrix-nio did not sleep on the 429 itself
    assert error.value.retry_after == 1.5 and not error.value.permanent and not error.value.uncertain
    with pytest.raises(DeliveryError) as bounded:
        await send_event(client, "!slow:hs", "m.room.message", {"body": "x"}, "t2")
    assert bounded.value.retry_after == 300.0
    assert _rate_limited() == counted  # not counted here: the delivery worker owns the figure


async def test_a_matrix_429_is_counted_once_by_the_delivery_worker(client: AsyncClient, engine: Engine) -> None:
    """Through the worker (the path every queued message takes), one 429 is one count on /metrics."""

    class Sender:
        platform = "matrix"

        async def send(self, item: Outgoing) -> str:
            return await send_event(client, item.target_id, "m.room.message", {"body": "x"}, item.idempotency_key)

    with session_scope(engine) as session:
        enqueue(session, platform="matrix", workspace="hs", target_kind="channel", target_id="!busy:hs",
                message=Message.text("x"))
    counted = _rate_limited()
    worker = DeliveryWorker(engine, {"matrix": Sender()})
    assert await worker.run_once() == 1
    assert _rate_limited() == counted + 1
    with session_scope(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.status, row.attempts) == ("pending", 0)  # retried after Retry-After, not held against the row


async def test_forbidden_is_permanent_and_server_errors_are_retried(client: AsyncClient) -> None:
    with pytest.raises(DeliveryError) as forbidden:
        await send_event(client, "!gone:hs", "m.room.message", {"body": "x"}, "t3")
    assert forbidden.value.permanent
    with pytest.raises(DeliveryError) as broken:
        await send_event(client, "!broken:hs", "m.room.message", {"body": "x"}, "t4")
    assert not broken.value.permanent and broken.value.retry_after is None
    assert broken.value.uncertain and not forbidden.value.uncertain  # a 5xx may have posted it


async def test_an_unreachable_homeserver_is_a_retryable_failure() -> None:
    nio_client = AsyncClient("http://127.0.0.1:9", "@cercle:hs", config=client_config())
    nio_client.restore_login("@cercle:hs", "DEVICE", "secret-token")
    try:
        with pytest.raises(DeliveryError) as error:
            await send_event(nio_client, "!room:hs", "m.room.message", {"body": "x"}, "t5")
        assert not error.value.permanent and "unreachable" in error.value.reason
        assert error.value.uncertain
    finally:
        await nio_client.close()
