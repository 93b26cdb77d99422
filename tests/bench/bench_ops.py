"""Operations figures: the cost of log redaction, /healthz latency, leadership takeover time (a killed
connection, and `kill -9` of a real replica process).

    python -m tests.bench.bench_ops

Baselines, measured in the same process: the same log records through the same JSON handler without
the redacting filter; a bare aiohttp route on the same server; the followers' lock retry interval
(the best a takeover can do).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import random
import signal
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
import psycopg
from aiohttp import web

from bot.http import HttpServer
from bot.leadership import Leadership, conninfo
from bot.logs import JsonFormatter, make_handler
from storage.db import make_engine
from storage.migrate import upgrade
from tests.bench.common import Figure, median, p95, write_result
from tests.support.databases import PostgresDatabase, postgres_reachable
from tests.support.replicas import Replica, wait

RECORDS = 20_000


def log_cost(handler: logging.Handler) -> float:
    """Microseconds per record through `handler`."""
    logger = logging.Logger("bench", logging.INFO)
    logger.addHandler(handler)
    started = time.perf_counter()
    for i in range(RECORDS):
        logger.warning("delivery %s to %s %s failed (attempt %d): %s", i, "slack", "channel", 3,
                       "ratelimited, retry after 30 s")
    return (time.perf_counter() - started) / RECORDS * 1e6


class Discard(io.StringIO):
    """A stream that keeps nothing, so only formatting and filtering are measured."""

    def write(self, text: str) -> int:
        return len(text)


def bench_logs() -> Figure:
    plain = logging.StreamHandler(Discard())
    plain.setFormatter(JsonFormatter())
    redacting = make_handler(Discard(), json_lines=True)
    log_cost(plain), log_cost(redacting)  # warm up
    baselines, values = [], []
    for _ in range(5):  # interleaved, so a busy moment of the machine hits both alike
        baselines.append(log_cost(plain))
        values.append(log_cost(redacting))
    baseline, value = min(baselines), min(values)
    return Figure("log record with redaction (µs)", value, baseline, "ratio ≤ 2", value / baseline <= 2)


async def bench_healthz(database_url: str) -> list[Figure]:
    engine = make_engine(database_url)
    upgrade(engine)
    http = HttpServer(engine, "127.0.0.1", 0)

    async def bare(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    http.app.router.add_get("/bare", bare)
    port = await http.start()
    try:
        async with aiohttp.ClientSession() as session:
            async def latencies(path: str, n: int) -> list[float]:
                out = []
                for _ in range(n):
                    started = time.perf_counter()
                    async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                        await resp.read()
                        assert resp.status == 200
                    out.append((time.perf_counter() - started) * 1000)
                return out

            await latencies("/healthz", 20)
            await latencies("/bare", 20)
            health, base = await latencies("/healthz", 300), await latencies("/bare", 300)
    finally:
        await http.stop()
        engine.dispose()
    return [Figure("/healthz p50 (ms)", median(health), median(base), "≤ 20 ms", median(health) <= 20),
            Figure("/healthz p95 (ms)", p95(health), p95(base), "≤ 50 ms", p95(health) <= 50)]


async def bench_takeover(database_url: str, interval: float = 2.0, rounds: int = 5) -> Figure:
    """Seconds from the leader's connection being killed to the follower leading (worst of `rounds`)."""
    engine = make_engine(database_url)
    worst = 0.0
    nothing = asyncio.sleep  # callbacks that do nothing

    async def noop() -> None:
        await nothing(0)

    try:
        for _ in range(rounds):
            a, b = Leadership(engine, interval=interval), Leadership(engine, interval=interval)
            ta = asyncio.create_task(a.run(noop, noop))
            while not a.is_leader:
                await asyncio.sleep(0.01)
            tb = asyncio.create_task(b.run(noop, noop))
            await asyncio.sleep(random.uniform(interval, 2 * interval))  # any phase of b's tries
            assert a._conn is not None
            with psycopg.connect(conninfo(engine), autocommit=True) as admin:
                started = time.monotonic()
                admin.execute("SELECT pg_terminate_backend(%s)", (a._conn.info.backend_pid,))
            while not b.is_leader:
                await asyncio.sleep(0.01)
            worst = max(worst, time.monotonic() - started)
            a.stop()
            b.stop()
            await asyncio.gather(ta, tb)
    finally:
        engine.dispose()
    return Figure("leader takeover after its connection dies (s)", worst, interval, "ratio ≤ 1.5",
                  worst <= interval * 1.5)


def bench_process_takeover(database_url: str, rounds: int = 5, interval: float = 2.0) -> Figure:
    """Seconds from `kill -9` of the leader replica to another replica leading (worst of `rounds`)."""
    with TemporaryDirectory() as folder:
        live = [Replica(Path(folder), database_url)]
        try:
            wait(lambda: live[0].role() == "leader", 30, "a leader")
            live.append(Replica(Path(folder), database_url))
            worst = 0.0
            for _ in range(rounds):
                time.sleep(random.uniform(interval, 2 * interval))  # any phase of the follower's tries
                leader = next(r for r in live if r.role() == "leader")
                follower = next(r for r in live if r is not leader)
                os.kill(leader.pid, signal.SIGKILL)
                started = time.monotonic()
                leader.proc.wait(10)
                wait(follower.leads, 30, "the takeover")
                worst = max(worst, time.monotonic() - started)
                leader.stop()
                live = [follower, Replica(Path(folder), database_url)]
        finally:
            for replica in live:
                replica.stop()
    return Figure("takeover after kill -9 of the leader process (s)", worst, interval, "ratio ≤ 1.5",
                  worst <= interval * 1.5)


async def run() -> list[Figure]:
    figures = [bench_logs()]
    problem = postgres_reachable()
    if problem:
        print(f"PostgreSQL unreachable ({problem}): /healthz on SQLite, no takeover figure")
        with TemporaryDirectory() as folder:
            figures += await bench_healthz(f"sqlite:///{Path(folder) / 'bench.db'}")
        return figures
    database = PostgresDatabase()
    try:
        figures += await bench_healthz(database.url)
        figures.append(await bench_takeover(database.url))
        figures.append(await asyncio.to_thread(bench_process_takeover, database.url))
    finally:
        database.drop()
    return figures


def main() -> None:
    logging.getLogger("bot.leadership").setLevel(logging.ERROR)  # the takeover rounds' expected warnings
    write_result("ops", asyncio.run(run()))


if __name__ == "__main__":
    main()
