"""Probes and exposure over real HTTP: /livez answers while the database is away and stops when the event
loop is stuck; /readyz says ready or not to anyone, and its details, like /metrics, only to loopback or the
bearer token; /metrics on a listener of its own; no identifier in metric labels."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import Engine

from bot.app import default_platforms
from bot.http import HttpServer, is_loopback
from bot.settings import SettingsError, load_settings
from storage.db import make_engine
from tests.support.slack import TEAM_ID, SlackHarness

TOKEN = "t0k3n-for-the-metrics-scraper-0123456789"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[HttpServer]:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    http = HttpServer(engine, "127.0.0.1", 0)
    await http.start()
    yield http
    await http.stop()
    engine.dispose()


async def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}{path}", headers=headers or {}) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


def parsed(body: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data


async def test_livez_answers_while_the_database_is_away_and_readyz_does_not(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'missing-folder' / 'c.db'}")  # cannot be opened
    http = HttpServer(engine, "127.0.0.1", 0)
    port = await http.start()
    try:
        assert (await fetch(port, "/livez"))[:2] == (200, '{"status": "ok"}')
        for path in ("/readyz", "/healthz"):
            status, body, _ = await fetch(port, path)
            assert status == 503 and parsed(body)["status"] == "unhealthy"
            assert parsed(body)["checks"]["database"]["ok"] is False
    finally:
        await http.stop()
        engine.dispose()


async def test_livez_fails_when_the_event_loop_is_stuck(server: HttpServer) -> None:
    port = server.bound_port
    outcome: list[str] = []

    def probe() -> None:  # what the kubelet does, from outside the stuck loop, with its timeout
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=0.5) as resp:
                outcome.append(str(resp.status))
        except (TimeoutError, urllib.error.URLError) as exc:
            outcome.append(type(exc).__name__)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(1.0)  # on purpose: the loop is blocked, as by a runaway synchronous call
    prober.join()
    assert outcome and outcome[0] != "200", outcome
    assert (await fetch(port or 0, "/livez"))[0] == 200  # the loop is free again: alive


async def test_details_and_metrics_only_for_loopback_or_the_token(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    http = HttpServer(engine, "127.0.0.1", 0, metrics_token=TOKEN)
    http.add_check("slack", _team_check)
    port = await http.start()
    proxied = {"X-Forwarded-For": "203.0.113.9"}  # the internet, through a reverse proxy on this host
    try:
        status, body, _ = await fetch(port, "/readyz")
        assert status == 200 and parsed(body)["checks"]["slack"]["detail"] == f"team {TEAM_ID}"
        status, body, _ = await fetch(port, "/readyz", proxied)
        assert (status, parsed(body)) == (200, {"status": "ok"})
        assert TEAM_ID not in body
        status, body, _ = await fetch(port, "/readyz", {**proxied, "Authorization": f"Bearer {TOKEN}"})
        assert parsed(body)["checks"]["slack"]["ok"] is True

        assert (await fetch(port, "/metrics"))[0] == 200  # loopback, not proxied
        status, body, headers = await fetch(port, "/metrics", proxied)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer") and "cercle_" not in body
        status, body, _ = await fetch(port, "/metrics", {**proxied, "Authorization": "Bearer wrong-token"})
        assert status == 401
        status, body, _ = await fetch(port, "/metrics", {**proxied, "Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and "cercle_commands_total" in body
    finally:
        await http.stop()
        engine.dispose()


async def _team_check() -> tuple[bool, str]:
    return True, f"team {TEAM_ID}"


async def test_without_a_token_metrics_refuse_whoever_is_not_local(server: HttpServer) -> None:
    port = server.bound_port or 0
    status, body, _ = await fetch(port, "/metrics", {"Forwarded": "for=198.51.100.7"})
    assert status == 403 and "CERCLE_METRICS_TOKEN" in body


async def test_metrics_on_a_listener_of_their_own(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    http = HttpServer(engine, "127.0.0.1", 0, metrics_port=0)
    port = await http.start()
    try:
        assert http.bound_metrics_port and http.bound_metrics_port != port
        assert (await fetch(port, "/metrics"))[0] == 404  # gone from the main listener
        status, body, _ = await fetch(http.bound_metrics_port, "/metrics")
        assert status == 200 and "cercle_outbox_pending" in body
        assert (await fetch(port, "/livez"))[0] == 200
    finally:
        await http.stop()
        engine.dispose()
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(http.bound_metrics_port, "/metrics")


def test_loopback_peers() -> None:
    assert all(is_loopback(a) for a in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"))
    assert not any(is_loopback(a) for a in ("10.1.2.3", "192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1", "", None,
                                            "not-an-ip"))


def test_metrics_settings() -> None:
    settings = load_settings({"CERCLE_METRICS_PORT": "9464", "CERCLE_METRICS_HOST": "0.0.0.0",
                              "CERCLE_METRICS_TOKEN": TOKEN}, dotenv_path=None, platforms=default_platforms())
    assert (settings.metrics_host, settings.metrics_port, settings.metrics_token) == ("0.0.0.0", 9464, TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN in settings.secrets()  # the log redactor removes it (`bot.app.build`)
    assert load_settings({}, dotenv_path=None, platforms=default_platforms()).metrics_port is None
    for env, problem in (({"CERCLE_METRICS_PORT": "http"}, "not a port number"),
                         ({"CERCLE_METRICS_PORT": "3000"}, "must differ from CERCLE_HTTP_PORT"),
                         ({"CERCLE_METRICS_TOKEN": "short"}, "24 characters or more")):
        with pytest.raises(SettingsError, match=problem):
            load_settings(env, dotenv_path=None, platforms=default_platforms())


async def test_no_workspace_user_or_channel_id_in_metric_labels(slack: SlackHarness, engine: Engine) -> None:
    await slack.command('community create ops "Operations"')
    await slack.command("community join ops", user="U0BOB")
    await slack.command("nonsense words here")
    await slack.settle()
    status, body, _ = await fetch(slack.http.bound_port or 0, "/metrics")
    assert status == 200
    labels = set(re.findall(r'="([^"]*)"', body))
    identifiers = {v for v in labels if re.fullmatch(r"[TUCDGWB][A-Z0-9]{6,}|@.+:.+|!.+:.+", v)}
    assert identifiers == set(), identifiers
    assert TEAM_ID not in body and "U0BOB" not in body and "CGENERAL" not in body
