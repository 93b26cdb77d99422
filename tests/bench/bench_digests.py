"""Benchmark: the digests of 10,000 communities over 1,000,000 activity rows, on SQLite and PostgreSQL.

Run: `python -m tests.bench.bench_digests [--communities N --activity N --backends sqlite,postgres]`.
Prints, per backend, the time and peak memory of building (and rendering) every digest, the number of SQL
queries per digest for the smallest and the largest community (it must not grow with size), and the
same figures for a baseline: one plain SQL aggregate (active members per community) over the same rows.
The digests hold the sections of the communities and consultations capabilities (members, resources,
consultations, ideas, health); the query count with the referrals' section too (open positions: every
section of the default assembly) is printed as well. Writes `tests/bench/results/digests.json`.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.capability import assemble
from bot.communities import CAPABILITY as COMMUNITIES
from bot.consultations import CAPABILITY as CONSULTATIONS
from bot.digest_sections import DigestSection
from bot.digests import messaging, service
from bot.i18n import use_locale
from bot.referrals import CAPABILITY as REFERRALS
from storage.db import is_postgres, make_engine
from storage.migrate import upgrade
from storage.tables import Community

RESULTS = Path(__file__).parent / "results"
END = datetime(2030, 1, 14, 8, 0, tzinfo=UTC)
START = END - timedelta(days=7)
TIME_TARGET_S = 60.0
MEMORY_TARGET_MB = 300.0
KINDS = ("joined", "shared", "voted", "proposed", "upvoted", "answered")


# -- measuring -------------------------------------------------------------------------------------
def _rss_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Wall time, and the process's peak RSS during the block (the kernel's peak is reset first), with its
    growth above the RSS at the start."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
    base = _rss_now_mb()
    out: dict[str, float] = {}
    started = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - started
    out["peak_mb"] = _rss_peak_mb()
    out["growth_mb"] = max(0.0, out["peak_mb"] - base)


class QueryCounter:
    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args: Any) -> None:
        self.count += 1


# -- seeding ---------------------------------------------------------------------------------------
def _ts(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def seed(engine: Engine, communities: int, activity: int, people: int) -> int:
    """Bulk-insert people, communities, memberships, resources, ideas, consultations and activity rows.

    Community 1 is the large one (a tenth of all activity); the others share the rest. Returns the id of
    the smallest community.
    """
    rng = random.Random(7)
    created = _ts(END - timedelta(days=120))
    rows: dict[str, list[tuple[Any, ...]]] = {
        "person": [(i, f"person{i}", _ts(END - timedelta(days=200))) for i in range(1, people + 1)],
        "community": [(c, f"c{c}", f"Community {c}", "", created) for c in range(1, communities + 1)],
    }
    members: list[tuple[Any, ...]] = []
    mid = 1
    for c in range(1, communities + 1):
        size = 2000 if c == 1 else (3 if c == communities else 20)
        for p in rng.sample(range(1, people + 1), size):
            joined = END - timedelta(days=rng.uniform(0, 60))
            members.append((mid, c, p, p % 7 == 0, _ts(joined)))
            mid += 1
    rows["membership"] = members
    rows["resource"] = [(c, c, f"https://example.org/{c}", f"Resource {c}", _ts(END - timedelta(days=2)))
                        for c in range(1, communities + 1)]
    rows["idea"] = [(i, 1 + (i - 1) // 2, f"Idea {i}", _ts(END - timedelta(days=3)), 0, "open")
                    for i in range(1, 2 * communities + 1)]
    rows["consultation"] = [(c, c, f"Question {c}?", False, False, _ts(END - timedelta(days=4)))
                            for c in range(1, communities + 1)]
    rows["consultationoption"] = [(3 * (c - 1) + n, c, n, f"Option {n}", rng.randint(0, 9))
                                  for c in range(1, communities + 1) for n in (1, 2, 3)]
    columns = {
        "person": "id, display_name, created_at",
        "community": "id, slug, name, purpose, created_at",
        "membership": "id, community_id, person_id, is_manager, joined_at",
        "resource": "id, community_id, url, title, shared_at",
        "idea": "id, community_id, text, created_at, upvotes, status",
        "consultation": "id, community_id, question, anonymous, hidden, created_at",
        "consultationoption": "id, consultation_id, number, label, votes",
    }
    large = activity // 10

    def activity_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(activity):
            c = 1 if i < large else rng.randint(2, communities)
            person = rng.randint(1, people)
            at = END - timedelta(seconds=rng.randint(0, 56 * 86400))
            yield (c, person, KINDS[i % len(KINDS)], _ts(at))

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if is_postgres(engine):
            for table, cols in columns.items():
                with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows[table]:
                        copy.write_row(row)
            with cursor.copy("COPY communityactivity (community_id, person_id, kind, at) FROM STDIN") as copy:
                for row in activity_rows():
                    copy.write_row(row)
            for table in (*columns, "communityactivity"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
                cursor.execute(f"ANALYZE {table}")
        else:
            sqlite3.register_adapter(datetime, lambda d: d.isoformat(sep=" ", timespec="microseconds"))
            cursor.execute("PRAGMA synchronous=OFF")
            for table, cols in columns.items():
                marks = ", ".join("?" for _ in cols.split(","))
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows[table])
            cursor.executemany("INSERT INTO communityactivity (community_id, person_id, kind, at) VALUES (?, ?, ?, ?)",
                               cast("Sequence[Sequence[Any]]", activity_rows()))  # sqlite3 streams any iterable
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return communities


# -- the runs --------------------------------------------------------------------------------------
BATCH = 500
SECTIONS: tuple[DigestSection, ...] = assemble((COMMUNITIES, CONSULTATIONS)).digest_sections


def build_all(engine: Engine) -> int:
    """Build and render the digest of every community (what a Monday morning does, minus the outbox),
    in batches as `bot.digests.jobs.run_due` does."""
    built = 0
    with Session(engine) as session:
        ids = list(session.exec(select(Community.id).order_by(col(Community.id))))
        for i in range(0, len(ids), BATCH):
            batch = list(session.exec(select(Community).where(col(Community.id).in_(ids[i:i + BATCH]))))
            for digest in service.build_many(session, batch, START, END, SECTIONS).values():
                with use_locale("en"):
                    messaging.render(digest)
                built += 1
            session.expunge_all()
    return built


def baseline(engine: Engine) -> int:
    """One plain SQL aggregate over the same rows: active members per community in the period."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT community_id, count(DISTINCT person_id) FROM communityactivity "
                                 "WHERE at >= :s AND at < :e GROUP BY community_id"),
                            {"s": _ts(START), "e": _ts(END)}).all()
    return len(rows)


def queries_for(engine: Engine, counter: QueryCounter, community_ids: list[int],
                sections: Sequence[DigestSection] = SECTIONS) -> int:
    """SQL queries to build the digests of these communities (the community rows are loaded first)."""
    with Session(engine) as session:
        batch = list(session.exec(select(Community).where(col(Community.id).in_(community_ids))))
        before = counter.count
        service.build_many(session, batch, START, END, sections)
        return counter.count - before


def run_backend(name: str, engine: Engine, communities: int, activity: int, people: int) -> list[dict[str, Any]]:
    upgrade(engine)
    started = time.perf_counter()
    smallest = seed(engine, communities, activity, people)
    print(f"[{name}] seeded {communities:,} communities, {activity:,} activity rows in "
          f"{time.perf_counter() - started:.1f} s")
    counter = QueryCounter(engine)
    with measured() as base:
        baseline(engine)
    with measured() as run:
        built = build_all(engine)
    assert built == communities
    small_q = queries_for(engine, counter, [smallest])
    large_q = queries_for(engine, counter, [1])
    batch_q = queries_for(engine, counter, list(range(1, min(BATCH, communities) + 1)))
    per_digest_ms = 1000 * run["seconds"] / communities
    figures: list[dict[str, Any]] = [
        {"figure": f"{name}: build {communities:,} digests (s)", "value": round(run["seconds"], 2),
         "baseline": round(base["seconds"], 2), "target": TIME_TARGET_S},
        {"figure": f"{name}: peak RSS of the process while building (MB)", "value": round(run["peak_mb"], 1),
         "baseline": round(base["peak_mb"], 1), "target": MEMORY_TARGET_MB},
        {"figure": f"{name}: SQL queries per digest, large community (1/10 of the rows) vs smallest",
         "value": large_q, "baseline": small_q, "target": small_q},
        {"figure": f"{name}: SQL queries for a batch of {min(BATCH, communities)} digests vs one",
         "value": batch_q, "baseline": small_q, "target": small_q},
    ]
    for f in figures:
        f["ratio"] = round(f["value"] / f["baseline"], 2) if f["baseline"] else None
        f["met"] = bool(f["value"] <= f["target"])
    print(f"[{name}] digests: {run['seconds']:.2f} s ({per_digest_ms:.2f} ms each), peak RSS {run['peak_mb']:.0f} MB "
          f"(+{run['growth_mb']:.1f}); baseline aggregate: {base['seconds']:.2f} s, peak RSS {base['peak_mb']:.0f} MB "
          f"(+{base['growth_mb']:.1f}); time ratio {figures[0]['ratio']}")
    every = assemble((COMMUNITIES, CONSULTATIONS, REFERRALS)).digest_sections
    every_small = queries_for(engine, counter, [smallest], every)
    every_batch = queries_for(engine, counter, list(range(1, min(BATCH, communities) + 1)), every)
    print(f"[{name}] queries per digest: smallest community {small_q}, largest {large_q}; "
          f"a batch of {min(BATCH, communities)} digests: {batch_q}")
    print(f"[{name}] with every section ({', '.join(s.key for s in every)}): "
          f"{every_small} queries for one digest, {every_batch} for a batch of {min(BATCH, communities)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communities", type=int, default=10_000)
    parser.add_argument("--activity", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    figures: list[dict[str, Any]] = []
    for name in args.backends.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                engine = make_engine(f"sqlite:///{folder}/bench.db")
                figures += run_backend("sqlite", engine, args.communities, args.activity, args.people)
                engine.dispose()
        elif name == "postgres":
            from tests.support.databases import PostgresDatabase

            database = PostgresDatabase()
            try:
                engine = make_engine(database.url)
                figures += run_backend("postgres", engine, args.communities, args.activity, args.people)
                engine.dispose()
            finally:
                database.drop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "digests.json"
    out.write_text(json.dumps({"name": "digests", "figures": figures}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
