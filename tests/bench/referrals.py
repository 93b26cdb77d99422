"""Benchmark of the referral capability: `python -m tests.bench.referrals`.

Figures, each next to a baseline measured in the same process:
- HR's `nomination list` with 400 open nominations, against the same with 40 (one page: the queue is
  capped in chat, so a long queue must not make HR wait);
- `nominate` (a write, a consent request queued in the outbox), against `position list` (a read);
- the consent job run again over 400 nominations it has just reminded (idempotent: nothing to do),
  against its first run (400 reminders queued).
Writes tests/bench/results/referrals.json.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.app import build, default_platforms
from bot.clock import FrozenClock
from bot.referrals import jobs
from bot.referrals.service import QUEUE_LIMIT
from bot.settings import Settings
from storage.tables import OutboxMessage
from tests.bot.referrals.helpers import WHY, count
from tests.support.chat import Chat

RESULTS = Path(__file__).parent / "results" / "referrals.json"


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def new_chat(folder: Path, name: str) -> Chat:
    settings = Settings(database_url=f"sqlite:///{folder / name}.db",
                        admins=(default_platforms().parse_account("console:admin"),),
                        nominations_per_day=10_000)  # speed is measured here, not the daily limit
    chat = Chat(build(settings, clock=FrozenClock()))
    chat.ok("role grant @hannah hr", user="admin")
    chat.ok('position open "Data engineer" --site Lyon --skills kafka', user="hannah")
    return chat


def with_nominations(chat: Chat, n: int) -> Chat:
    for i in range(n):
        chat.ok(f'nominate P1 @person{i} "{WHY}"', user=f"nominator{i % 7}", direct=True)
    return chat


def figure(name: str, value: float, baseline: float, target: float) -> dict[str, Any]:
    ratio = value / baseline if baseline else float("inf")
    return {"figure": name, "value": round(value, 3), "baseline": round(baseline, 3), "ratio": round(ratio, 3),
            "target": target, "met": ratio <= target}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = with_nominations(new_chat(folder, "small"), QUEUE_LIMIT)  # exactly one page of the queue
        large = with_nominations(new_chat(folder, "large"), 400)
        figures = []

        def hr_list(chat: Chat) -> Callable[[], object]:
            return lambda: chat.ok("nomination list", user="hannah", direct=True)

        figures.append(figure("HR nomination list, 400 open nominations (ms, median)",
                              median_ms(hr_list(large), 30), median_ms(hr_list(small), 30), 1.5))

        counter = iter(range(10_000))
        nominate_ms = median_ms(lambda: small.ok(f'nominate P1 @bench{next(counter)} "{WHY}"', user="marc",
                                                 direct=True), 40)
        read_ms = median_ms(lambda: small.ok("position list", user="marc", direct=True), 40)
        figures.append(figure("nominate (ms, median) vs position list", nominate_ms, read_ms, 4.0))

        large.app.clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
        context = large.app.job_context()
        before = count(large, OutboxMessage)
        started = time.perf_counter()
        first = jobs.consent_reminders(context)
        first_ms = (time.perf_counter() - started) * 1000
        queued = count(large, OutboxMessage) - before
        started = time.perf_counter()
        second = jobs.consent_reminders(context)
        second_ms = (time.perf_counter() - started) * 1000
        assert first["reminded"] == 400 and queued == 400, (first, queued)
        assert second == {"reminded": 0, "lapsed": 0} and count(large, OutboxMessage) - before == 400
        figures.append(figure("consent job rerun over 400 reminded nominations (ms) vs first run", second_ms,
                              first_ms, 0.5))
        for chat in (small, large):
            chat.app.engine.dispose()

    result = {"name": "referrals", "figures": figures}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for f in figures:
        print(f"{f['figure']}: {f['value']} (baseline {f['baseline']}, ratio {f['ratio']}, target ≤ {f['target']}, "
              f"{'met' if f['met'] else 'NOT met'})")


if __name__ == "__main__":
    main()
