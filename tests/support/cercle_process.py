"""The real `cercle run` in a process of its own, configured by environment variables as in production,
so a test can SIGKILL it (nothing flushed, nothing closed) and start another on the same database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.replicas import wait
from tests.support.synapse import free_port

ROOT = Path(__file__).parents[2]


class CercleProcess:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
        clean.update(env, CERCLE_HTTP_HOST="127.0.0.1", CERCLE_HTTP_PORT=str(self.port), PYTHONUNBUFFERED="1")
        self.log_path = folder / f"cercle-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        code = "import sys; from bot.start import main; sys.argv = ['cercle', 'run']; main()"
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=clean, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def health(self) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            return dict(json.load(exc))
        except OSError:
            return {}

    def check(self, name: str) -> str:
        return str(self.health().get("checks", {}).get(name, {}).get("detail", ""))

    def wait_leading(self, timeout: float = 60) -> None:
        """Until it leads and its Matrix client has synced."""
        def ready() -> bool:
            assert self.proc.poll() is None, self.output()[-3000:]
            return self.check("leadership").startswith("leader") and self.check("matrix") == "connected"
        wait(ready, timeout, "cercle run to lead and sync")

    def wait_following(self, timeout: float = 60) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, self.output()[-3000:]
            return self.check("leadership").startswith("follower")
        wait(ready, timeout, "cercle run to follow")

    def kill(self) -> None:
        """kill -9."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()
