"""A real Synapse homeserver for the tests: installed into its own cached venv, started on a free port.

The venv lives under `.cache/synapse-venv` (created when missing, about 20 s), so a clean clone in CI
installs it itself. The configuration is written by hand: loopback listener with the client resource
only, SQLite, no federation, a registration shared secret, cheap bcrypt and every rate limit raised
(Synapse's defaults turn a test into a crawl). Users are registered with the shared-secret admin API.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.cache_lock import locked

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("CERCLE_SYNAPSE_VENV", ROOT / ".cache" / "synapse-venv"))
SYNAPSE_SPEC = os.environ.get("CERCLE_SYNAPSE_SPEC", "matrix-synapse>=1.100")

_RC_OPEN = {"per_second": 10000, "burst_count": 100000}


class SynapseUnavailable(RuntimeError):
    """The homeserver could not be installed or started; the message says why."""


def ensure_venv() -> Path:
    """The python of the cached Synapse venv, installing it when missing."""
    python = VENV / "bin" / "python"
    marker = VENV / ".cercle-ready"
    if marker.exists() and python.exists():
        return python
    with locked(VENV.parent / f"{VENV.name}.lock"):  # the suite's workers install it once
        if marker.exists() and python.exists():
            return python
        _install(python, marker)
    return python


def _install(python: Path, marker: Path) -> None:
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", SYNAPSE_SPEC], check=True,
                       capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        raise SynapseUnavailable(f"cannot install {SYNAPSE_SPEC}: {stderr.decode(errors='replace')[-500:]}") from None
    marker.write_text("ok\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, port: int, server_name: str, shared_secret: str) -> str:
    rc = {
        "rc_message": _RC_OPEN,
        "rc_registration": _RC_OPEN,
        "rc_login": {"address": _RC_OPEN, "account": _RC_OPEN, "failed_attempts": _RC_OPEN},
        "rc_admin_redaction": _RC_OPEN,
        "rc_joins": {"local": _RC_OPEN, "remote": _RC_OPEN},
        "rc_joins_per_room": _RC_OPEN,
        "rc_invites": {"per_room": _RC_OPEN, "per_user": _RC_OPEN, "per_issuer": _RC_OPEN},
        "rc_third_party_invite": _RC_OPEN,
        "rc_room_creation": _RC_OPEN,
        "rc_presence": {"per_user": _RC_OPEN},
        "rc_delayed_event_mgmt": _RC_OPEN,
        "rc_reports": _RC_OPEN,
    }
    config = {
        "server_name": server_name,
        "pid_file": str(folder / "homeserver.pid"),
        "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                       "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": str(folder / "homeserver.db")}},
        "log_config": str(folder / "log.yaml"),
        "media_store_path": str(folder / "media"),
        "signing_key_path": str(folder / "signing.key"),
        "report_stats": False,
        "trusted_key_servers": [],
        "federation_domain_whitelist": [],
        "registration_shared_secret": shared_secret,
        "enable_registration": False,
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        "suppress_key_server_warning": True,
        **rc,
    }
    return json.dumps(config, indent=2)  # JSON is YAML


_LOG_CONFIG = """version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {path}
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


@dataclass
class MatrixAccount:
    user_id: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    """One homeserver process, started by `start()` and stopped by its pid."""

    def __init__(self, folder: Path, server_name: str = "localhost") -> None:
        self.folder = folder
        self.server_name = server_name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        python = ensure_venv()
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "log.yaml").write_text(_LOG_CONFIG.format(path=self.folder / "homeserver.log"))
        config = self.folder / "homeserver.yaml"
        config.write_text(_config(self.folder, self.port, self.server_name, self.shared_secret))
        subprocess.run([str(python), "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
                       check=True, capture_output=True, cwd=self.folder)
        output = (self.folder / "stdout.log").open("wb")
        self.process = subprocess.Popen([str(python), "-m", "synapse.app.homeserver", "-c", str(config), "-n"],
                                        cwd=self.folder, stdout=output, stderr=subprocess.STDOUT)
        atexit.register(self.stop)  # even if the session dies, the homeserver does not outlive it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "stdout.log").read_text(errors="replace")[-1500:]
                raise SynapseUnavailable(f"synapse exited with {self.process.returncode}: {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SynapseUnavailable(f"synapse did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def _post(self, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            return dict(json.loads(resp.read()))

    def register(self, localpart: str, password: str | None = None, admin: bool = False) -> MatrixAccount:
        """A new user through the shared-secret admin API (nonce + HMAC-SHA1)."""
        password = password or secrets.token_hex(8)
        nonce = str(self._post("/_synapse/admin/v1/register")["nonce"])
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        reply = self._post("/_synapse/admin/v1/register", {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()})
        return MatrixAccount(str(reply["user_id"]), password, str(reply["access_token"]), str(reply["device_id"]))
