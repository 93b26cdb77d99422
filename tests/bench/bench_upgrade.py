"""Upgrade time: a database of the previous release holding 100,000 rows, migrated to this tree's schema.

    python -m tests.bench.bench_upgrade

The database is made by the previous release's own code (tests/support/releases.py: its schema and the
realistic scenario of the upgrade test), then grown to 100,000 rows by copying its audit, outbox,
processed-event and nomination-history rows (the tables that grow in real life). What is timed is
`storage.migrate.upgrade()` of this tree, what `cercle db upgrade` and every start run.

Baseline, in the same run: the same upgrade of an EMPTY database at the same revision (made by the
previous release too). The ratio is what the data costs the migrations; with no migration since the
previous release both figures are alembic finding nothing to do.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import MetaData, Table, UniqueConstraint, func, insert, select
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.migrate import upgrade
from tests.bench.common import Figure, write_result
from tests.support.databases import PostgresDatabase, postgres_reachable
from tests.support.releases import Release, previous_release, release_python, run_old

ROWS = 100_000
GROWN = {"auditentry": 0.4, "outboxmessage": 0.3, "processedevent": 0.2, "nominationevent": 0.1}
TARGET_SECONDS = 60.0  # an init container's migration, as an operator would accept it during a roll


def row_count(engine: Engine) -> int:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return sum(int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                   for t in meta.sorted_tables if t.name != "alembic_version")


def copies(table: Table, rows: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """`count` new rows made from `rows`: a new id, unique columns suffixed so they stay unique."""
    unique = {c.name for c in table.columns if c.unique or (c.primary_key and c.autoincrement is not True
                                                            and c.type.python_type is str)}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            unique |= {c.name for c in constraint.columns}
    out = []
    for i in range(count):
        row = dict(rows[i % len(rows)])
        if "id" in row and table.c.id.primary_key:
            del row["id"]
        for name in unique:
            if isinstance(row.get(name), str):
                row[name] = f"{row[name]}#{i}"[: getattr(table.c[name].type, "length", None) or None]
        out.append(row)
    return out


def grow(engine: Engine) -> int:
    """Copy rows of the growing tables until the database holds ROWS rows."""
    missing = ROWS - row_count(engine)
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        for name, share in GROWN.items():
            table = meta.tables[name]
            rows = [dict(r) for r in conn.execute(select(table)).mappings()]
            new = copies(table, rows, int(missing * share))
            for start in range(0, len(new), 5000):
                conn.execute(insert(table), new[start:start + 5000])
    extra = ROWS - row_count(engine)
    if extra > 0:
        with engine.begin() as conn:
            table = meta.tables["auditentry"]
            rows = [dict(r) for r in conn.execute(select(table).limit(100)).mappings()]
            conn.execute(insert(table), copies(table, rows, extra))
    return row_count(engine)


def old_schema(release: Release, url: str) -> None:
    """An empty database at the previous release's revision, made by that release's code."""
    code = "import sys; from storage.db import make_engine; from storage.migrate import upgrade; " \
           "upgrade(make_engine(sys.argv[1]))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "PYTHON"))}
    subprocess.run([str(release_python(release)), "-I", "-c", code, url], check=True, env=env, timeout=120)


def timed_upgrade(url: str) -> float:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        upgrade(engine)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def warm_up() -> None:
    with TemporaryDirectory() as folder:
        timed_upgrade(f"sqlite:///{Path(folder) / 'warm.db'}")


def bench(backend: str, release: Release, urls: tuple[str, str]) -> list[Figure]:
    full, empty = urls
    run_old(release, "fill", full)
    engine = make_engine(full)
    try:
        rows = grow(engine)
    finally:
        engine.dispose()
    old_schema(release, empty)
    warm_up()  # the first upgrade in a process loads alembic and the scripts: not the data's cost
    baseline = timed_upgrade(empty)
    value = timed_upgrade(full)
    engine = make_engine(full)
    try:
        kept = row_count(engine)
    finally:
        engine.dispose()
    print(f"{backend}: {rows} rows before, {kept} after; upgrade {value:.3f} s, empty {baseline:.3f} s")
    return [Figure(f"{backend}: upgrade from {release.tag} of a database with 100,000 rows (s) "
                   "[baseline: the same upgrade of an empty database]", value, baseline,
                   f"≤ {TARGET_SECONDS:g} s, every row kept", value <= TARGET_SECONDS and kept >= rows == ROWS)]


def main() -> None:
    release = previous_release()
    figures = []
    with TemporaryDirectory() as folder:
        figures += bench("sqlite", release, (f"sqlite:///{Path(folder) / 'full.db'}",
                                             f"sqlite:///{Path(folder) / 'empty.db'}"))
    problem = postgres_reachable()
    if problem:
        print(f"PostgreSQL unreachable ({problem}): SQLite figures only")
    else:
        full, empty = PostgresDatabase(), PostgresDatabase()
        try:
            figures += bench("postgres", release, (full.url, empty.url))
        finally:
            full.drop()
            empty.drop()
    write_result("upgrade", figures)


if __name__ == "__main__":
    main()
