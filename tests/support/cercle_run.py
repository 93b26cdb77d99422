"""`cercle run` in processes of their own, with Slack pointed at a fake Web API, and the graceful-stop
scenario that `tests/e2e/test_replicas_stop.py` and `tests/bench/bench_stop.py` both play.

    python -m tests.support.cercle_run        (the settings come from the environment)

runs what the `cercle` console script runs (`bot.start.main`, then `cercle run`) with one difference: with
`CERCLE_E2E_SLACK_PER_SECOND` set, the outbox paces Slack at that many messages a second per workspace
instead of Slack's 5, so a broadcast of 1,000 rows to the fake Slack takes seconds rather than minutes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.messages import Message
from bot.outbox import enqueue
from storage.db import session_scope
from storage.tables import OutboxMessage
from tests.fakes.slack_api import TEAM_ID
from tests.support.replicas import wait
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).parents[2]
PACE = "CERCLE_E2E_SLACK_PER_SECOND"
RUNNING = re.compile(r"cercle running: slack; http on 127\.0\.0\.1:(\d+)")


class CercleRun:
    """One `cercle run` replica; its log (JSON lines on standard error) goes to a file in `folder`."""

    def __init__(self, folder: Path, database_url: str, api_url: str, *, per_second: float | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
        env.update(CERCLE_DATABASE_URL=database_url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_API_URL=api_url, CERCLE_HTTP_PORT="0", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        if per_second is not None:
            env[PACE] = str(per_second)
        self.log_path = folder / f"cercle-run-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.cercle_run"], cwd=folder, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.pid = self.proc.pid
        found: list[int] = []

        def listening() -> bool:
            match = RUNNING.search(self.output())
            if match:
                found.append(int(match.group(1)))
            return bool(match) or self.proc.poll() is not None

        wait(listening, 60, "cercle run to listen")
        assert found, self.output()
        self.port = found[0]

    @property
    def worker_prefix(self) -> str:
        """How its delivery worker signs its claims (`bot.outbox.worker`: host:pid:...)."""
        return f"{socket.gethostname()}:{self.pid}:"

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def role(self) -> str:
        try:
            return str(self.health()["checks"]["leadership"]["detail"]).split(" ")[0]
        except OSError:
            return "unreachable"

    def leads(self) -> bool:
        return self.role() == "leader"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


@dataclass(frozen=True)
class Handover:
    """What happened when the delivering leader was signalled mid-broadcast."""

    held: int  # rows the signalled replica had claimed and not yet sent
    finished: int  # how many of them it sent itself (those already handed to Slack); the others it gave back
    resumed: float  # seconds until the other replica led and had taken up (claimed or sent) every one of them
    led: float  # seconds until the other replica led
    exit_code: int | None  # the signalled process's (-9 after kill -9)
    exited: float  # seconds from the signal to its exit
    left_leased: int  # its rows waiting for a lease to run out when it had exited
    ids: frozenset[int]  # the broadcast's rows


def broadcast(engine: Engine, rows: int, tag: str) -> frozenset[int]:
    """A crisis announcement's rows: one per channel of the fake Slack's workspace."""
    ids = set()
    with session_scope(engine) as session:
        for n in range(rows):
            row = enqueue(session, platform="slack", workspace=TEAM_ID, target_kind="channel",
                          target_id=f"C{tag}{n:04d}", message=Message.text(f"Announcement {tag}, channel {n}"),
                          subject=f"crisis:{tag}:ann:1")
            assert row is not None and row.id is not None
            ids.add(row.id)
    return frozenset(ids)


def count(engine: Engine, ids: frozenset[int], *conditions: Any) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(col(OutboxMessage.id).in_(ids), *conditions)).one())


def held_by(engine: Engine, replica: CercleRun, ids: frozenset[int]) -> set[int]:
    """Rows `replica` has claimed, not sent, and whose lease is still running."""
    with session_scope(engine) as session:
        return {row_id for row_id in session.exec(select(col(OutboxMessage.id)).where(
            col(OutboxMessage.id).in_(ids), OutboxMessage.status == "pending",
            col(OutboxMessage.claimed_by).startswith(replica.worker_prefix),
            col(OutboxMessage.claimed_until) > datetime.now(UTC))) if row_id is not None}


def taken_up(engine: Engine, rows: set[int], other: CercleRun) -> bool:
    """Every one of `rows` is sent, or claimed by `other`."""
    with session_scope(engine) as session:
        left = session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.id).in_(rows), OutboxMessage.status != "sent",
            ~col(OutboxMessage.claimed_by).startswith(other.worker_prefix)
            | col(OutboxMessage.claimed_by).is_(None))).one()
    return int(left) == 0


def handover(engine: Engine, leader: CercleRun, follower: CercleRun, *, rows: int = 1000, tag: str = "A",
             sent_before: int = 150, sig: signal.Signals = signal.SIGTERM, timeout: float = 120) -> Handover:
    """Broadcast `rows` rows, signal `leader` (which delivers, with `follower`) once `sent_before` are sent,
    and time how long until `follower` leads and has taken up every row the leader held."""
    assert leader.leads() and follower.role() == "follower"
    ids = broadcast(engine, rows, tag)
    wait(lambda: count(engine, ids, OutboxMessage.status == "sent") >= sent_before, 60, "the broadcast to start")
    held = held_by(engine, leader, ids)
    assert held, "the leader was delivering nothing"
    started = time.monotonic()
    os.kill(leader.pid, sig)
    seen: dict[str, float] = {}

    def both() -> bool:  # each moment measured on its own, whichever comes first
        if "exited" not in seen and leader.proc.poll() is not None:
            seen["exited"] = time.monotonic() - started
            seen["left"] = len(held_by(engine, leader, ids))  # once it is gone, as the other replica finds them
        if "led" not in seen and follower.leads():
            seen["led"] = time.monotonic() - started
        if "taken" not in seen and taken_up(engine, held, follower):
            seen["taken"] = time.monotonic() - started
        return len(seen) == 4

    wait(both, timeout, "the other replica to resume and the signalled one to exit")
    with session_scope(engine) as session:  # a sent row keeps the claim of the worker that sent it
        finished = int(session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.id).in_(held), OutboxMessage.status == "sent",
            col(OutboxMessage.claimed_by).startswith(leader.worker_prefix))).one())
    return Handover(len(held), finished, max(seen["led"], seen["taken"]), seen["led"], leader.proc.returncode,
                    seen["exited"], int(seen["left"]), ids)


def main() -> None:
    per_second = os.environ.get(PACE)
    if per_second:
        import bot.app
        from bot.platforms import Platforms, RateLimit

        known = bot.app.default_platforms()
        fast = Platforms(replace(d, pacing=RateLimit(d.pacing.per_target, float(per_second))) if d.name == "slack"
                         else d for d in known)
        setattr(bot.app, "default_platforms", lambda: fast)  # noqa: B010 (what `cercle` reads its platforms from)
    from bot.start import main as cercle

    sys.argv = ["cercle", "run"]
    cercle()


if __name__ == "__main__":
    main()
