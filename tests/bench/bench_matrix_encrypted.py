"""Benchmark: a command's round trip in an ENCRYPTED room through a real Synapse, Cercle against a bare
matrix-nio bot that decrypts and answers in the same kind of room.

Run: `python -m tests.bench.bench_matrix_encrypted [--rounds N] [--database-url URL]`.
A person whose client encrypts (as Element does: its own key store, unverified devices trusted) opens an
encrypted direct room with each bot. The time is taken from the send to the moment the person's own sync
has decrypted the bot's answer (a reply to the command). Cercle runs `!cercle profile show` through its
whole stack (its encrypting client with its crypto state in the database, adapter, router, database,
rendering); the baseline is a bare matrix-nio bot with encryption on (nio's own SQLite key store) answering
`!ping` with an encrypted notice. Same homeserver, same process, rounds interleaved so both see the same
load. Prints median and p95 of both and the ratio, and writes `tests/bench/results/matrix_encrypted.json`.
Target: Cercle's median within 1.2x. The unencrypted figure is `bench_matrix_roundtrip`'s.
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

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    RoomCreateResponse,
    RoomMessageText,
    RoomPreset,
    SyncResponse,
)

from adapters.matrix.adapter import MatrixAdapter
from adapters.matrix.platform import MatrixSettings
from bot.app import build
from bot.settings import Settings
from tests.bench.bench_matrix_roundtrip import BENCH_SECRET, p95
from tests.support.synapse import MatrixAccount, Synapse

RESULTS = Path(__file__).parent / "results"
TARGET_RATIO = 1.2
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def encrypting(url: str, account: MatrixAccount, store: Path) -> AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(max_limit_exceeded=0, store_sync_tokens=False, encryption_enabled=True)
    client = AsyncClient(url, account.user_id, device_id=account.device_id, store_path=str(store), config=config)
    client.restore_login(account.user_id, account.device_id, account.access_token)
    return client


class EncryptedEchoBot:
    """The baseline: the least an encrypting matrix-nio bot does to answer a command (nio's `sync_forever`
    does the key upload, query and claim after each sync)."""

    def __init__(self, url: str, account: MatrixAccount, store: Path) -> None:
        self.client = encrypting(url, account, store)
        self.task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)  # history is not answered
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
            await self.client.room_send(room.room_id, "m.room.message", content, ignore_unverified_devices=True)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.client.close()


class EncryptedPerson:
    """Sends commands in encrypted rooms and notes when its sync has decrypted the answer to each."""

    def __init__(self, url: str, account: MatrixAccount, store: Path) -> None:
        self.client = encrypting(url, account, store)
        self.answered: dict[str, float] = {}
        self.joined: dict[str, set[str]] = {}
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        self.task = asyncio.create_task(self._loop())

    async def _duties(self) -> None:
        client = self.client
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    async def _loop(self) -> None:
        while True:
            response = await self.client.sync(timeout=30_000)
            now = time.perf_counter()
            if not isinstance(response, SyncResponse):
                continue
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    content = event.source.get("content", {})
                    if event.source.get("type") == "m.room.member" and content.get("membership") == "join":
                        self.joined.setdefault(room_id, set()).add(str(event.source.get("state_key")))
                    reply_to = (content.get("m.relates_to") or {}).get("m.in_reply_to", {}).get("event_id")
                    if reply_to and getattr(event, "decrypted", False):
                        self.answered.setdefault(reply_to, now)
            await self._duties()
            self._changed.set()

    async def direct_room(self, bot: str) -> str:
        response = await self.client.room_create(is_direct=True, invite=[bot], initial_state=[ENCRYPTION],
                                                 preset=RoomPreset.trusted_private_chat)
        assert isinstance(response, RoomCreateResponse), response
        room_id = str(response.room_id)
        while bot not in self.joined.get(room_id, set()):
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout=30)
        return room_id

    async def round_trip(self, room_id: str, text: str) -> float:
        started = time.perf_counter()
        if self.client.should_query_keys:
            await self.client.keys_query()
        sent = await self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text},
                                           tx_id=uuid.uuid4().hex, ignore_unverified_devices=True)
        event_id = str(getattr(sent, "event_id"))  # noqa: B009
        deadline = started + 30
        while event_id not in self.answered:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout=max(0.01, deadline - time.perf_counter()))
        return (self.answered[event_id] - started) * 1000

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.client.close()


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
                            sections={"matrix": section}, secret_keys=(BENCH_SECRET,))
        app = build(settings)
        adapter = MatrixAdapter(app.core, section)
        await adapter.start()
        await asyncio.wait_for(adapter.ready.wait(), timeout=60)
        echo = EncryptedEchoBot(synapse.url, echo_account, folder / "echo-store")
        await echo.start()
        person = EncryptedPerson(synapse.url, person_account, folder / "person-store")
        await person.start()
        cercle_room = await person.direct_room(cercle_account.user_id)
        echo_room = await person.direct_room(echo_account.user_id)
        await person.round_trip(cercle_room, "profile skills benchmarking")
        await person.round_trip(echo_room, "!ping")

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
    for name, ours, base in (("median encrypted round trip (ms)", statistics.median(cercle), statistics.median(bare)),
                             ("p95 encrypted round trip (ms)", p95(cercle), p95(bare))):
        ratio = ours / base
        target = TARGET_RATIO if name.startswith("median") else None
        figures.append({"figure": name, "value": round(ours, 2), "baseline": round(base, 2),
                        "ratio": round(ratio, 3), "target": target,
                        "met": bool(ratio <= TARGET_RATIO) if target else True})
    return {"name": "matrix_encrypted", "rounds": rounds,
            "database": "sqlite" if not database_url else database_url.split(":")[0],
            "baseline": "bare matrix-nio bot with encryption on, same homeserver, interleaved rounds",
            "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cercle-bench-matrix-e2e-") as tmp:
        result = asyncio.run(run(args.rounds, args.warmup, args.database_url, Path(tmp)))
    print(f"Matrix command round trip in an encrypted room over {result['rounds']} rounds (Cercle "
          f"`!cercle profile show` vs a bare encrypting matrix-nio bot's `!ping`):")
    for f in result["figures"]:
        target = f" (target ≤ {f['target']}x: {'met' if f['met'] else 'NOT met'})" if f["target"] else ""
        print(f"  {f['figure']}: cercle {f['value']:.1f}  baseline {f['baseline']:.1f}  ratio {f['ratio']:.2f}"
              f"{target}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "matrix_encrypted.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
