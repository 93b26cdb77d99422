"""What every benchmark writes: figures with their baseline, ratio, target and whether it is met.

`write_result("name", figures)` prints the figures and writes `tests/bench/results/<name>.json`
(or into `$CERCLE_BENCH_RESULTS`), which `python -m tests.bench.run_all` turns into a report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Figure:
    figure: str  # what is measured, with its unit: "healthz p50 (ms)"
    value: float
    baseline: float  # the same figure for the baseline run, in the same process
    target: str  # human-readable: "ratio ≤ 1.5", "≤ 20 ms"
    met: bool

    @property
    def ratio(self) -> float:
        return round(self.value / self.baseline, 3) if self.baseline else float("inf")

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["value"], data["baseline"] = round(self.value, 4), round(self.baseline, 4)
        data["ratio"] = self.ratio
        return {k: data[k] for k in ("figure", "value", "baseline", "ratio", "target", "met")}


def results_dir() -> Path:
    folder = Path(os.environ.get("CERCLE_BENCH_RESULTS") or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_result(name: str, figures: list[Figure]) -> Path:
    """Print the figures next to their baseline and write the JSON result."""
    print(f"{name}:")
    for f in figures:
        print(f"  {f.figure}: {f.value:.4g} (baseline {f.baseline:.4g}, ratio {f.ratio:.3g}; "
              f"target {f.target}: {'met' if f.met else 'NOT met'})")
    path = results_dir() / f"{name}.json"
    path.write_text(json.dumps({"name": name, "figures": [f.as_json() for f in figures]}, indent=2,
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def bench_args(doc: str | None, size: str, default: int) -> argparse.Namespace:
    """The command line of a Slack benchmark: `--<size> N` (how many requests, people…) and `--database`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument(f"--{size}", type=int, default=default)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    return parser.parse_args()


def write_figures(name: str, database: str, figures: list[dict[str, Any]]) -> Path:
    """Write figures of a free shape (a Slack benchmark's: Cercle next to bare Bolt, OAuth next to a token) as
    `<name>.json`, or `<name>_<database>.json` when the run was not on SQLite, where `write_result` writes."""
    name = name if database == "sqlite" else f"{name}_{database}"
    path = results_dir() / f"{name}.json"
    path.write_text(json.dumps({"name": name, "figures": figures}, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def timed(func: Callable[[], object], repeat: int) -> list[float]:
    """Seconds taken by each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        out.append(time.perf_counter() - started)
    return out


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank `p`th percentile (the Slack benchmarks' p95 and p99)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def bench_database(database: str) -> Iterator[tuple[str, Engine]]:
    """A migrated database for one benchmark run, dropped afterwards: a SQLite file in a temporary folder,
    or (`database == "postgres"`) a fresh PostgreSQL database. Yields its URL and engine."""
    from storage.db import make_engine
    from storage.migrate import upgrade
    from tests.support.databases import PostgresDatabase

    with tempfile.TemporaryDirectory() as folder:
        pg = PostgresDatabase() if database == "postgres" else None
        url = pg.url if pg is not None else f"sqlite:///{folder}/bench.db"
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield url, engine
        finally:
            engine.dispose()
            if pg is not None:
                pg.drop()
