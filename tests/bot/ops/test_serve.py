"""`serve()` over real HTTP: /healthz reports database, platforms and leadership; /metrics counts what
the code paths did; a platform that fails to start is retried while the others keep delivering."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from bot.app import Application, build, serve
from bot.clock import SystemClock
from bot.http import HttpServer
from bot.messages import Message
from bot.outbox import enqueue
from bot.scheduler import JobContext, PeriodicJob
from bot.settings import Settings
from storage.db import make_engine, session_scope
from tests.bot.ops.support import MemoryAdapter, eventually, get_json, get_text, sample
from tests.support.chat import Chat


def put(engine: Engine, platform: str, text: str, *, target: str = "general") -> None:
    with session_scope(engine) as session:
        enqueue(session, platform=platform, workspace="w", target_kind="channel", target_id=target,
                message=Message.text(text))


@pytest.fixture
def live_app(settings: Settings, engine: Engine) -> Application:
    """The application on the real clock, as `cercle run` builds it."""
    return build(settings, clock=SystemClock(), migrate=False, engine=engine)


async def test_health_metrics_and_a_platform_that_starts_late(live_app: Application) -> None:
    app, chat = live_app, Chat(live_app)
    runs: list[str] = []
    # Only a fast job of our own (and the start-up hooks): a fresh assembly, no global list to patch.
    app.assembly = replace(app.assembly, jobs=(PeriodicJob("ops-test-tick", 0.2, lambda ctx: runs.append("x")),))
    good = MemoryAdapter("memgood")
    flaky = MemoryAdapter("memflaky", fail_starts=2)
    http = HttpServer(app.engine, "127.0.0.1", 0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, stop=stop, adapters=[good, flaky], http=http, leadership_interval=0.2,
                                     gauges_interval=0.2, adapter_retry=0.3))
    try:
        await eventually(lambda: http.bound_port is not None and good.running)
        port = http.bound_port
        assert port
        _, _, before = await get_text(port, "/metrics")

        # The flaky platform is reported, the service stays up (200, degraded), the good one delivers.
        status, body = await get_json(port, "/healthz")
        assert status == 200
        assert body["checks"]["database"] == {"ok": True, "detail": "ok"}
        assert body["checks"]["memgood"]["ok"] is True
        if not flaky.running:
            assert body["status"] == "degraded"
            assert body["checks"]["memflaky"]["ok"] is False
            assert "ConnectionError" in body["checks"]["memflaky"]["detail"]
        put(app.engine, "memgood", "hello")
        await eventually(lambda: [s.text for s in good.sender.sent] == ["hello"])

        # It is retried and comes up; messages queued for it meanwhile go out once.
        put(app.engine, "memflaky", "queued while down")
        await eventually(lambda: flaky.running)
        await eventually(lambda: [s.text for s in flaky.sender.sent] == ["queued while down"])
        assert flaky.start_calls == 3

        # The single replica leads: scheduler jobs run, leader duties run on every platform.
        await eventually(lambda: len(runs) >= 2)
        await eventually(lambda: good.duties_running and flaky.duties_running)
        status, body = await get_json(port, "/healthz")
        assert (status, body["status"]) == (200, "ok")
        assert body["checks"]["leadership"]["detail"].startswith("leader since ")
        assert body["checks"]["memflaky"]["detail"] == "connected"

        # /metrics: commands by name and outcome, deliveries, scheduler runs, leadership, platforms, outbox.
        chat.ok("help")
        chat.error("community join nope")
        put(app.engine, "nowhere", "no adapter for this one")
        await asyncio.sleep(0.5)
        status, ctype, after = await get_text(port, "/metrics")
        assert status == 200 and ctype.startswith("text/plain")

        def delta(name: str, **labels: str) -> float:
            return sample(after, name, **labels) - sample(before, name, **labels)

        assert delta("cercle_commands_total", command="help", outcome="ok") == 1
        assert delta("cercle_commands_total", command="community join", outcome="user_error") == 1
        assert delta("cercle_command_seconds_count", command="help") == 1
        assert delta("cercle_deliveries_total", platform="memgood", outcome="sent") == 1
        assert delta("cercle_deliveries_total", platform="memflaky", outcome="sent") == 1
        assert delta("cercle_scheduler_runs_total", job="ops-test-tick", outcome="ok") >= 2
        assert sample(after, "cercle_leader") == 1
        assert sample(after, "cercle_outbox_pending") == 1
        assert sample(after, "cercle_outbox_oldest_seconds") >= 0
        assert sample(after, "cercle_platform_up", platform="memflaky") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    # Shutting down stops the leader duties and the platforms.
    # (serve() declares it manages leadership with a first stop_leader_duties, before start)
    assert good.duty_changes == ["stop", "start", "stop"] and not good.running and not flaky.running
    n = len(runs)
    await asyncio.sleep(0.5)
    assert len(runs) == n, "the scheduler kept running after shutdown"


async def test_healthz_is_503_when_the_database_is_away() -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    http = HttpServer(engine, "127.0.0.1", 0)
    port = await http.start()
    try:
        status, body = await get_json(port, "/healthz")
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["database"]["detail"] == "OperationalError"
    finally:
        await http.stop()
        engine.dispose()


def test_job_context_type_is_what_jobs_receive(app: Application) -> None:
    assert isinstance(app.job_context(), JobContext)
