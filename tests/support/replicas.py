"""Start and watch replica processes (`tests/support/replica.py`) from a test or a benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def wait(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until `predicate` holds; an assertion error after `timeout`."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - started


class Replica:
    """`python -m tests.support.replica` on a database; its output goes to a log file in `folder`."""

    def __init__(self, folder: Path, database_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
        env.update(CERCLE_DATABASE_URL=database_url, CERCLE_E2E_DIR=str(folder), PYTHONUNBUFFERED="1")
        self.folder = folder
        self.log = open(folder / f"replica-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.support.replica"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        port_file = folder / f"port-{self.pid}"

        def listening_or_gone() -> bool:  # the file may be seen before its line is written: the whole line
            return (port_file.exists() and port_file.read_text().endswith("\n")) or self.proc.poll() is not None

        try:
            wait(listening_or_gone, 60, "the replica to listen")
            assert self.proc.poll() is None, self.output()
            self.port = int(port_file.read_text().strip())
        except BaseException:  # never leave a replica running (it could hold the leadership) behind a failure
            self.proc.kill()
            self.proc.wait()
            raise

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))

    def role(self) -> str:
        return str(self.health()["checks"]["leadership"]["detail"]).split(" ")[0]

    def leads(self) -> bool:
        return self.role() == "leader"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def lines(path: Path) -> list[list[str]]:
    """The whitespace-separated fields of each line of a replica's record file."""
    return [line.split() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


