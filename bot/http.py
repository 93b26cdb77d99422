"""The HTTP listener: `/healthz`, `/metrics`, and the routes adapters add (Slack's `/slack/events`).

`/healthz` answers 200 while the database answers (design §4.3), so an orchestrator does not restart
a replica because Slack or Matrix is away; the body says which part is degraded and why. Only
checks added with `critical=True` turn it into a 503 as well; `/healthz?strict` answers 503 when any
part is failing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot import metrics as metric_registry

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]


class HttpServer:
    def __init__(self, engine: Engine, host: str, port: int) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.app = web.Application()
        self.checks: dict[str, HealthCheck] = {}
        self.critical: set[str] = {"database"}
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/metrics", self.metrics)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def add_check(self, name: str, check: HealthCheck, *, critical: bool = False) -> None:
        """A component (a platform connection, leadership) reports its health on /healthz."""
        self.checks[name] = check
        if critical:
            self.critical.add(name)

    async def _database(self) -> tuple[bool, str]:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
            return True, "ok"
        except Exception as exc:  # reported, not raised: /healthz must answer
            return False, type(exc).__name__

    async def healthz(self, request: web.Request) -> web.Response:
        results = {"database": await self._database()}
        for name, check in self.checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=5)
            except Exception as exc:
                results[name] = (False, type(exc).__name__)
        healthy = all(ok for name, (ok, _detail) in results.items() if name in self.critical)
        status = "unhealthy" if not healthy else "ok" if all(ok for ok, _d in results.values()) else "degraded"
        if "strict" in request.query:  # `/healthz?strict`: any failing part is a 503 (e.g. a stricter probe)
            healthy = status == "ok"
        body = {"status": status,
                "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}}
        return web.Response(status=200 if healthy else 503, text=json.dumps(body),
                            content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        body, content_type = metric_registry.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def start(self) -> int:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        return self.bound_port

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
