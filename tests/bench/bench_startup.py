"""How fast a console command starts: `echo help | cercle run` on a new SQLite file, as a whole process,
against `python -c "import sqlalchemy, sqlmodel, alembic, click, babel"` (the libraries any start needs),
measured in the same run, alternately. Figures: median wall time and median peak memory (RSS), and the
ratios to the baseline; target: within 1.25 times both.

    python -m tests.bench.bench_startup [--rounds 15] [--code DIR]

Both run with bytecode caches, as an installed Cercle does (a fresh `PYTHONPYCACHEPREFIX`, one warm-up
run each), whatever `PYTHONDONTWRITEBYTECODE` says. `--code DIR` times another checkout's code (e.g. main,
for a before/after figure) with this environment's libraries.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.common import Figure, write_result

ROOT = Path(__file__).resolve().parents[2]
BASELINE = [sys.executable, "-c", "import sqlalchemy, sqlmodel, alembic, click, babel"]
TARGET = 1.25


@dataclass(frozen=True)
class Run:
    seconds: float
    megabytes: float


def cercle_command() -> list[str]:
    """The `cercle` console script next to this interpreter (as a user types it), else `python -m bot.cli`."""
    script = Path(sys.executable).parent / "cercle"
    return [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot.cli", "run"]


def environment(cache: Path, code: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if code != ROOT:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def timed(command: list[str], stdin: bytes, env: dict[str, str], cwd: Path) -> Run:
    """Wall time from start to exit, and the process's peak resident memory."""
    with (cwd / "out").open("w+b") as out, (cwd / "err").open("w+b") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=cwd)
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        printed, problem = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {problem.decode(errors='replace')[-500:]}")
    if command is not BASELINE and b"Cercle commands" not in printed:
        raise SystemExit(f"cercle gave no help: {printed.decode(errors='replace')[-300:]}")
    return Run(seconds, usage.ru_maxrss / 1024)


def measure(rounds: int, code: Path) -> tuple[list[Run], list[Run]]:
    work = Path(tempfile.mkdtemp(prefix="cercle-startup-"))
    try:
        env = environment(work / "pycache", code)
        cercle: list[Run] = []
        baseline: list[Run] = []
        for n in range(rounds + 1):  # round 0 warms the bytecode caches and is not counted
            folder = work / f"run{n}"
            folder.mkdir()
            fresh = dict(env, CERCLE_DATABASE_URL=f"sqlite:///{folder / 'cercle.db'}")
            base = timed(BASELINE, b"", fresh, folder)
            run = timed(cercle_command(), b"help\n", fresh, folder)
            if n:
                baseline.append(base)
                cercle.append(run)
        return cercle, baseline
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose code is timed")
    args = parser.parse_args(argv)
    cercle, baseline = measure(args.rounds, args.code.resolve())
    seconds = statistics.median(r.seconds for r in cercle)
    base_seconds = statistics.median(r.seconds for r in baseline)
    memory = statistics.median(r.megabytes for r in cercle)
    base_memory = statistics.median(r.megabytes for r in baseline)
    print(f"startup: `echo help | cercle run` on a new SQLite file, {args.rounds} rounds, medians; "
          f"code: {args.code}")
    target = f"ratio ≤ {TARGET:g}"
    what = "help piped to cercle run, new SQLite file"
    write_result("startup" if args.code.resolve() == ROOT else "startup_other", [
        Figure(f"{what}: wall (s)", seconds, base_seconds, target, seconds <= TARGET * base_seconds),
        Figure(f"{what}: peak RSS (MB)", memory, base_memory, target, memory <= TARGET * base_memory),
    ])


if __name__ == "__main__":
    main()
