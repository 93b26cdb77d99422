"""Run every benchmark (`tests/bench/bench_*.py`, and any other module there with a `main()` that runs as
a program) and write `tests/bench/REPORT.md`.

    python -m tests.bench.run_all [--only NAME] [--update-readme]

Each module runs in a process of its own (a crash or a hang does not stop the others) and writes
its JSON result; the report is a Markdown table of every result in the results folder. With
`--update-readme` the table is also pasted into the README between the benchmarks markers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- section:benchmarks -->", "<!-- /section:benchmarks -->"


@dataclass(frozen=True)
class Run:
    module: str
    ok: bool
    seconds: float
    detail: str  # the last lines of its output when it failed


INFRASTRUCTURE = {"common", "run_all"}


def is_benchmark(path: Path) -> bool:
    """`bench_*.py`, or any other module of the folder that runs as a program with a `main()`."""
    if path.stem.startswith("bench_"):
        return True
    if path.stem in INFRASTRUCTURE or path.stem.startswith("_"):
        return False
    source = path.read_text(encoding="utf-8", errors="replace")
    return "def main(" in source and "__main__" in source


def discover(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    found = []
    for m in pkgutil.iter_modules(pkg.__path__):
        path = Path(str(getattr(m.module_finder, "path", ""))) / f"{m.name}.py"
        if not m.ispkg and path.is_file() and is_benchmark(path):
            found.append(f"{package}.{m.name}")
    return sorted(found)


def run_module(module: str, results: Path, timeout: float) -> Run:
    env = dict(os.environ, CERCLE_BENCH_RESULTS=str(results),
               PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Run(module, False, time.monotonic() - started, f"timed out after {timeout:.0f} s")
    sys.stdout.write(proc.stdout)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
    return Run(module, proc.returncode == 0, time.monotonic() - started, "" if proc.returncode == 0 else tail)


def load_results(results: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(results.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("figures"), list):
            found.append(data)
    return found


def _target(value: object) -> str:
    """Targets are text ("≤ 20 ms", "ratio ≤ 2") or a bare number whose sense the benchmark defines."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value if value is not None else "")


def _number(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}"


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| benchmark | figure | value | baseline | ratio | target | met |",
            "| --- | --- | ---: | ---: | ---: | --- | :---: |"]
    for result in results:
        for f in result["figures"]:
            cells = [result.get("name", "?"), f.get("figure", "?"), _number(f.get("value")),
                     _number(f.get("baseline")), _number(f.get("ratio")), _target(f.get("target")),
                     "yes" if f.get("met") else "**no**"]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def report(results: list[dict[str, Any]], runs: list[Run]) -> str:
    lines = ["# Benchmark report", "",
             f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by `python -m tests.bench.run_all`; "
             "each figure is measured next to a baseline run in the same process.", "", table(results), ""]
    failed = [r for r in runs if not r.ok]
    if failed:
        lines += ["## Benchmarks that did not finish", ""]
        lines += [f"- `{r.module}`: {r.detail.splitlines()[-1] if r.detail else 'failed'}" for r in failed]
        lines.append("")
    return "\n".join(lines)


def update_readme(readme: Path, results: list[dict[str, Any]]) -> None:
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme}: no {BEGIN} … {END} markers")
    section = (f"{BEGIN}\n## Benchmarks\n\nMeasured by `python -m tests.bench.run_all --update-readme` "
               f"(details in `tests/bench/REPORT.md`).\n\n{table(results)}\n{END}")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _m: section, text, count=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--package", default="tests.bench", help="where the bench_*.py modules are")
    parser.add_argument("--results", type=Path, default=ROOT / "tests/bench/results")
    parser.add_argument("--report", type=Path, default=ROOT / "tests/bench/REPORT.md")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--update-readme", action="store_true", help="paste the table into the README")
    parser.add_argument("--only", action="append", default=[], help="run only modules containing this")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per benchmark module")
    args = parser.parse_args(argv)

    args.results.mkdir(parents=True, exist_ok=True)
    modules = [m for m in discover(args.package) if not args.only or any(o in m for o in args.only)]
    runs = []
    for module in modules:
        print(f"== {module}", flush=True)
        runs.append(run_module(module, args.results, args.timeout))
        if not runs[-1].ok:
            print(f"   FAILED: {runs[-1].detail}", flush=True)
    results = load_results(args.results)
    args.report.write_text(report(results, runs), encoding="utf-8")
    print(f"wrote {args.report}")
    if args.update_readme:
        update_readme(args.readme, results)
        print(f"updated {args.readme}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
