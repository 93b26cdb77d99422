"""Benchmark: a command's round trip through a real Synapse, Cercle against a bare matrix-nio echo bot.

Run: `python -m tests.bench.bench_matrix_roundtrip [--rounds N] [--database-url URL]`.
A person sends a command in their direct room with each bot; the time is taken from the send to the
moment the person's own sync sees the bot's answer (an `m.notice` in reply to the command). Cercle
runs `!cercle profile show` through its whole stack (adapter, router, database, rendering); the
baseline is a bare matrix-nio bot answering `!ping` with a notice, on the same homeserver, in the same
process, rounds interleaved so both see the same load. Prints median and p95 of both and the ratio,
and writes `tests/bench/results/matrix_roundtrip.json`. Target: Cercle's median within 1.2x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomMessageText, SyncResponse

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.platform import MatrixSettings
from bot.app import build
from bot.settings import Settings
from tests.support.synapse import MatrixAccount, Synapse

RESULTS = Path(__file__).parent / "results"
TARGET_RATIO = 1.2
CONFIG = AsyncClientConfig(max_limit_exceeded=0, store_sync_tokens=False)


class EchoBot:
    """The baseline: the least a matrix-nio bot can do to answer a command."""

    def __init__(self, url: str, account: MatrixAccount) -> None:
        self.client = AsyncClient(url, account.user_id, config=CONFIG)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self.client.sync(timeout=0)  # history is not answered
        self.client.add_event_callback(self._on_message, RoomMessageText)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.task = asyncio.create_task(self.client.sync_forever(timeout=30_000))

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == self.client.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != self.client.user_id and event.body.startswith("!ping"):
            content = {"msgtype": "m.notice", "body": "pong", "format": "org.matrix.custom.html",
                       "formatted_body": "<b>pong</b>", "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}}
            await self.client.room_send(room.room_id, "m.room.message", content)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.client.close()


class Person:
    """Sends commands and notes when its sync sees the answer to each."""

    def __init__(self, url: str, account: MatrixAccount) -> None:
        self.client = AsyncClient(url, account.user_id, config=CONFIG)
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.answered: dict[str, float] = {}
        self.joined: set[str] = set()
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.client.sync(timeout=0)
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=30_000)
            now = time.perf_counter()
            if not isinstance(response, SyncResponse):
                continue
            for info in response.rooms.join.values():
                for event in info.timeline.events:
                    content = event.source.get("content", {})
                    if event.source.get("type") == "m.room.member" and content.get("membership") == "join":
                        self.joined.add(str(event.source.get("state_key")))
                    reply_to = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
                    if reply_to:
                        self.answered.setdefault(reply_to, now)
            self._changed.set()

    async def direct_room(self, bot: str) -> str:
        response = await self.client.room_create(is_direct=True, invite=[bot])
        room_id = str(getattr(response, "room_id"))  # noqa: B009
        while bot not in self.joined:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout=20)
        return room_id

    async def round_trip(self, room_id: str, text: str) -> float:
        started = time.perf_counter()
        sent = await self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                                           tx_id=uuid.uuid4().hex)
        event_id = str(getattr(sent, "event_id"))  # noqa: B009
        deadline = started + 20
        while event_id not in self.answered:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.01, deadline - time.perf_counter()))
        return (self.answered[event_id] - started) * 1000

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.client.close()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run(rounds: int, warmup: int, database_url: str | None, folder: Path) -> dict[str, Any]:
    synapse = Synapse(folder / "synapse")
    synapse.start()
    try:
        cercle_account = synapse.register("cercle")
        echo_account = synapse.register("echo")
        person_account = synapse.register("person")
        section = MatrixSettings(homeserver=synapse.url, user_id=cercle_account.user_id,
                                 password=cercle_account.password)
        settings = Settings(database_url=database_url or f"sqlite:///{folder / 'cercle.db'}",
                            sections={"matrix": section})
        app = build(settings)
        adapter = MatrixAdapter(app.core, section)
        await adapter.start()
        await asyncio.wait_for(adapter.ready.wait(), timeout=30)
        echo = EchoBot(synapse.url, echo_account)
        await echo.start()
        person = Person(synapse.url, person_account)
        await person.start()
        cercle_room = await person.direct_room(cercle_account.user_id)
        echo_room = await person.direct_room(echo_account.user_id)
        await person.round_trip(cercle_room, "profile skills benchmarking")

        cercle: list[float] = []
        bare: list[float] = []
        for i in range(warmup + rounds):
            c = await person.round_trip(cercle_room, "!cercle profile show")
            b = await person.round_trip(echo_room, "!ping")
            if i >= warmup:
                cercle.append(c)
                bare.append(b)
        await person.stop()
        await echo.stop()
        await adapter.stop()
        app.engine.dispose()
    finally:
        synapse.stop()

    figures = []
    for name, ours, base in (("median round trip (ms)", statistics.median(cercle), statistics.median(bare)),
                             ("p95 round trip (ms)", p95(cercle), p95(bare))):
        ratio = ours / base
        target = TARGET_RATIO if name.startswith("median") else None
        figures.append({"figure": name, "value": round(ours, 2), "baseline": round(base, 2),
                        "ratio": round(ratio, 3), "target": target,
                        "met": bool(ratio <= TARGET_RATIO) if target else True})
    return {"name": "matrix_roundtrip", "rounds": rounds,
            "database": "sqlite" if not database_url else database_url.split(":")[0],
            "baseline": "bare matrix-nio echo bot, same homeserver, interleaved rounds",
            "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cercle-bench-matrix-") as tmp:
        result = asyncio.run(run(args.rounds, args.warmup, args.database_url, Path(tmp)))
    print(f"Matrix command round trip over {result['rounds']} rounds (Cercle `!cercle profile show` vs "
          f"bare matrix-nio `!ping`):")
    for f in result["figures"]:
        target = f" (target ≤ {f['target']}x: {'met' if f['met'] else 'NOT met'})" if f["target"] else ""
        print(f"  {f['figure']}: cercle {f['value']:.1f}  baseline {f['baseline']:.1f}  ratio {f['ratio']:.2f}"
              f"{target}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "matrix_roundtrip.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
