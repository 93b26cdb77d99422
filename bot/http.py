"""The HTTP listener: probes, `/metrics`, and the routes adapters add (Slack's `/slack/events`).

- `/livez`: the process and its event loop answer (nothing else is consulted), so an orchestrator
  restarts a replica only when it is stuck, never because the database or a platform is away.
- `/readyz` (and `/healthz`, kept for compatibility): 200 while the database answers (design §4.3),
  503 when it does not; the body says which part is degraded and why. Only checks added with
  `critical=True` turn it into a 503 as well; `?strict` answers 503 when any part is failing.
- `/metrics`: Prometheus. It and the details of `/readyz` go only to a trusted caller (see `trusted`):
  elsewhere `/readyz` says just its status, and `/metrics` is refused. With `metrics_port` set,
  `/metrics` moves to a listener of its own (loopback by default) and leaves the main one.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot import metrics as metric_registry
from bot.shutdown import HTTP_GRACE

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[tuple[bool, str]]]
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")
PRIVATE = web.AppKey("private", bool)  # set on the metrics listener's application


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is this machine's loopback (IPv4-mapped IPv6 included)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


class HttpServer:
    def __init__(self, engine: Engine, host: str, port: int, *, metrics_token: str | None = None,
                 metrics_host: str = "127.0.0.1", metrics_port: int | None = None,
                 stop_grace: float = HTTP_GRACE) -> None:
        self.engine = engine
        self.stop_grace = stop_grace  # seconds `stop()` lets the requests already received finish
        self.host = host
        self.port = port
        self.metrics_token = metrics_token
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self.app = web.Application()
        self.checks: dict[str, HealthCheck] = {}
        self.critical: set[str] = {"database"}
        for path in ("/readyz", "/healthz"):
            self.app.router.add_get(path, self.readyz)
        self.app.router.add_get("/livez", self.livez)
        self.metrics_app: web.Application | None = None
        if metrics_port is None:
            self.app.router.add_get("/metrics", self.metrics)
        else:
            self.metrics_app = web.Application()
            self.metrics_app[PRIVATE] = True
            self.metrics_app.router.add_get("/metrics", self.metrics)
            for path in ("/readyz", "/healthz"):
                self.metrics_app.router.add_get(path, self.readyz)
        self._runners: list[web.AppRunner] = []
        self.bound_port: int | None = None
        self.bound_metrics_port: int | None = None

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> HttpServer:
        return cls(engine, settings.http_host, settings.http_port, metrics_token=settings.metrics_token,
                   metrics_host=settings.metrics_host, metrics_port=settings.metrics_port)

    def add_check(self, name: str, check: HealthCheck, *, critical: bool = False) -> None:
        """A component (a platform connection, leadership) reports its health on /readyz."""
        self.checks[name] = check
        if critical:
            self.critical.add(name)

    def trusted(self, request: web.Request) -> bool:
        """Who may read /metrics and the details of /readyz: a caller with the bearer token; else a
        loopback peer that did not come through a proxy (a reverse proxy on the same host forwards the
        internet as 127.0.0.1, and says so in its headers); else anyone reaching the private metrics
        listener when no token is set (binding it elsewhere than loopback was the operator's choice)."""
        if self.metrics_token:
            given = request.headers.get("Authorization", "")
            if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(),
                                                                   self.metrics_token.encode()):
                return True
        if any(h in request.headers for h in PROXY_HEADERS):
            return False
        if is_loopback(request.remote):
            return True
        return request.app.get(PRIVATE, False) and not self.metrics_token

    async def _database(self) -> tuple[bool, str]:
        def ping() -> None:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await asyncio.wait_for(asyncio.to_thread(ping), timeout=5)
            return True, "ok"
        except Exception as exc:  # reported, not raised: /readyz must answer
            return False, type(exc).__name__

    async def livez(self, request: web.Request) -> web.Response:
        """Answering at all is the check: the event loop runs and serves requests."""
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        results = {"database": await self._database()}
        for name, check in self.checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=5)
            except Exception as exc:
                results[name] = (False, type(exc).__name__)
        healthy = all(ok for name, (ok, _detail) in results.items() if name in self.critical)
        status = "unhealthy" if not healthy else "ok" if all(ok for ok, _d in results.values()) else "degraded"
        if "strict" in request.query:  # `/readyz?strict`: any failing part is a 503 (e.g. a stricter probe)
            healthy = status == "ok"
        body: dict[str, object] = {"status": status}
        if self.trusted(request):
            body["checks"] = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in results.items()}
        return web.Response(status=200 if healthy else 503, text=json.dumps(body), content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        if not self.trusted(request):
            if self.metrics_token:
                return web.Response(status=401, text="a bearer token is required\n",
                                    headers={"WWW-Authenticate": 'Bearer realm="cercle-metrics"'})
            return web.Response(status=403, text="metrics answer loopback only: set CERCLE_METRICS_TOKEN "
                                                 "or CERCLE_METRICS_PORT\n")
        body, content_type = metric_registry.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _serve(self, app: web.Application, host: str, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self.stop_grace)
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def start(self) -> int:
        self.bound_port = await self._serve(self.app, self.host, self.port)
        if self.metrics_app is not None and self.metrics_port is not None:
            self.bound_metrics_port = await self._serve(self.metrics_app, self.metrics_host, self.metrics_port)
            log.info("metrics on %s:%s", self.metrics_host, self.bound_metrics_port)
        return self.bound_port

    async def stop(self) -> None:
        """Stop taking connections at once; requests already received get `stop_grace` seconds."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
