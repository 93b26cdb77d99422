"""The deployment files hold together: they parse, name real settings, probe /livez and /readyz, run as
non-root, install only locked, hash-checked packages on a base pinned by digest, list every secret, and the
image's HEALTHCHECK command really tells a healthy Cercle from a stopped one; the systemd unit rates "OK"
with systemd-analyze. (`deploy/check` adds hadolint, yamllint and the Kubernetes schemas.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.http import HttpServer
from storage.db import make_engine
from tests.support.databases import in_ci

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def known_settings() -> set[str]:
    """The variables the core reads (bot/settings.py) and each platform's descriptor reads (its section)."""
    sources = [ROOT / "bot/settings.py", *sorted((ROOT / "adapters").glob("*/platform.py"))]
    return {name for path in sources
            for name in re.findall(r'"((?:CERCLE|SLACK|MATRIX)_[A-Z_]+)"', path.read_text(encoding="utf-8"))}


def stages(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split by stage."""
    text = re.sub(r"\\\n", " ", dockerfile)
    out: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            out.append([])
        out[-1].append(line)
    return out


def k8s() -> dict[str, dict[str, Any]]:
    docs = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            docs[doc["kind"]] = doc
    return docs


BASE = re.compile(r"^FROM (python:3\.11-slim-bookworm@sha256:[0-9a-f]{64})( AS \w+)?$")


def secret_settings() -> set[str]:
    """Every setting that holds a secret: credentials, keys, tokens, and the database URL (its password)."""
    return {n for n in known_settings() if re.search(r"(TOKEN|SECRET|PASSWORD|_KEY)$", n)} | {"CERCLE_DATABASE_URL"}


def test_dockerfile_is_multi_stage_slim_pinned_locked_and_non_root() -> None:
    build, final = stages((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    bases = [BASE.match(build[0]), BASE.match(final[0])]
    assert all(bases) and bases[0] and bases[1] and bases[0].group(1) == bases[1].group(1), (build[0], final[0])
    installs = [i for i in build if "pip install" in i]
    assert any("--require-hashes" in i and "-r requirements/runtime.lock" in i and "--no-deps" in i for i in installs)
    assert any("--require-hashes" in i and "-r requirements/build.lock" in i for i in installs)
    assert all("--require-hashes" in i or "--no-index" in i for i in installs), installs  # nothing else fetched
    assert any(i.startswith("COPY --from=build /opt/cercle /opt/cercle") for i in final)
    assert not any(re.search(r"apt-get|apk add|gcc|build-essential|pip install", i) for i in final[1:])
    users = [i.split()[1] for i in final if i.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(i.startswith("HEALTHCHECK ") and "/readyz" in i for i in final)
    assert any(i == 'ENTRYPOINT ["cercle"]' for i in final)


async def test_the_image_healthcheck_command_tells_healthy_from_stopped(tmp_path: Path) -> None:
    final = stages((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))[-1]
    check = next(i for i in final if i.startswith("HEALTHCHECK "))
    command = json.loads(check[check.index("CMD ") + 4:])
    assert command[0] == "python"
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    http = HttpServer(engine, "127.0.0.1", 0)
    port = await http.start()

    async def run_check() -> int:
        proc = await asyncio.create_subprocess_exec(sys.executable, *command[1:],
                                                    env=dict(os.environ, CERCLE_HTTP_PORT=str(port)),
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        return await proc.wait()

    try:
        assert await run_check() == 0
    finally:
        await http.stop()
        engine.dispose()
    assert await run_check() != 0


def test_compose_runs_cercle_postgres_and_a_local_synapse() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"cercle", "postgres", "synapse"}
    assert (DEPLOY / services["cercle"]["build"]["context"] / services["cercle"]["build"]["dockerfile"]).is_file()
    env = services["cercle"]["environment"]
    url = env["CERCLE_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    assert set(env) <= known_settings()
    assert services["cercle"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    config_mount = next(v for v in services["synapse"]["volumes"] if v.endswith(":/config:ro"))
    assert (DEPLOY / config_mount.split(":")[0] / "homeserver.yaml").is_file()


def test_synapse_config_is_local_only() -> None:
    hs = yaml.safe_load((DEPLOY / "synapse/homeserver.yaml").read_text(encoding="utf-8"))
    assert hs["server_name"] == "localhost"
    assert [r["names"] for r in hs["listeners"][0]["resources"]] == [["client"]]
    assert hs["trusted_key_servers"] == [] and hs["federation_domain_whitelist"] == []
    assert hs["enable_registration"] is False
    assert (DEPLOY / "synapse" / Path(hs["log_config"]).name).is_file()


def test_kubernetes_manifests_fit_together() -> None:
    docs = k8s()
    assert {"ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "Kustomization"} <= set(docs)
    deployment = docs["Deployment"]
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["spec"]["containers"]
    probes = ("startupProbe", "livenessProbe", "readinessProbe")
    paths = {probe: container[probe]["httpGet"]["path"] for probe in probes}
    assert paths == {"startupProbe": "/livez", "livenessProbe": "/livez", "readinessProbe": "/readyz"}
    assert all(container[probe]["httpGet"]["port"] == "http" for probe in paths)
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60  # a slow start is not a dead process
    assert "initialDelaySeconds" not in container["livenessProbe"]  # the startup probe holds it back instead
    config = docs["ConfigMap"]["data"]
    metrics_port = int(config["CERCLE_METRICS_PORT"])
    assert {"name": "metrics", "containerPort": metrics_port} in container["ports"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(metrics_port)
    assert [p["targetPort"] for p in docs["Service"]["spec"]["ports"]] == ["http"]  # metrics stay in the cluster
    assert container["args"] == ["run"]
    assert pod["spec"]["initContainers"][0]["args"] == ["db", "upgrade"]
    refs = {e.get("configMapRef", e.get("secretRef", {}))["name"] for e in container["envFrom"]}
    assert refs == {docs["ConfigMap"]["metadata"]["name"], docs["Secret"]["metadata"]["name"]}
    names = set(docs["ConfigMap"]["data"]) | set(docs["Secret"]["stringData"])
    assert names <= known_settings(), names - known_settings()
    assert secret_settings() <= set(docs["Secret"]["stringData"]), secret_settings() - set(docs["Secret"]["stringData"])
    assert not secret_settings() & set(docs["ConfigMap"]["data"])
    for resource in docs["Kustomization"]["resources"]:
        assert (DEPLOY / "k8s" / resource).is_file()


def test_systemd_unit_upgrades_then_runs_as_its_own_user() -> None:
    unit = dict(line.split("=", 1) for line in (DEPLOY / "cercle.service").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert unit["User"] == "cercle"
    assert unit["ExecStartPre"].endswith("cercle db upgrade") and unit["ExecStart"].endswith("cercle run")
    assert unit["Restart"] == "on-failure" and unit["NoNewPrivileges"] == "true"


STOP_MARGIN = 10  # seconds between the end of Cercle's own stop budget and the supervisor's SIGKILL


def seconds(value: str | int) -> float:
    """A duration as systemd or compose write it: "30", "30s", "1min 30s", "1m30s"."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", str(value))
    assert parts, value
    return sum(float(n) * units[u] for n, u in parts)


def test_every_supervisor_waits_for_the_stop_budget_with_a_margin() -> None:
    """systemd, Kubernetes and compose wait long enough for `cercle run` to stop by itself before they SIGKILL
    it (bot/shutdown.py), after whatever pause comes before SIGTERM (Kubernetes' preStop)."""
    from bot.shutdown import STOP_BUDGET

    unit = dict(line.split("=", 1) for line in (DEPLOY / "cercle.service").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert unit["KillSignal"] == "SIGTERM"
    assert seconds(unit["TimeoutStopSec"]) >= STOP_BUDGET + STOP_MARGIN

    pod = k8s()["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep" and 0 < seconds(pause[1]) <= 10  # the Service stops routing to the pod meanwhile
    assert seconds(pod["terminationGracePeriodSeconds"]) >= seconds(pause[1]) + STOP_BUDGET + STOP_MARGIN

    compose = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))["services"]["cercle"]
    assert seconds(compose["stop_grace_period"]) >= STOP_BUDGET + STOP_MARGIN
    final = stages((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))[-1]
    assert "STOPSIGNAL SIGTERM" in final


def test_env_example_names_only_real_settings_and_every_secret() -> None:
    names = {line.split("=", 1)[0] for line in (DEPLOY / "cercle.env.example").read_text().splitlines()
             if line and not line.startswith("#")}
    assert names <= known_settings(), names - known_settings()
    assert secret_settings() <= names, secret_settings() - names


def test_every_setting_is_in_the_readme_settings_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings"):readme.index("<!-- /section:settings -->")]
    missing = {n for n in known_settings() if f"`{n}`" not in table}
    assert missing == set(), missing


def test_systemd_unit_exposure_is_ok_and_the_readme_says_so() -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        message = "systemd-analyze is missing (apt-get install systemd)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    done = subprocess.run([tool, "security", "--offline=true", str(DEPLOY / "cercle.service")], capture_output=True,
                          text=True, timeout=60, check=False)
    match = re.search(r"Overall exposure level for cercle\.service: (\d+\.\d) (\w+)", done.stdout)
    assert match, done.stdout[-500:] + done.stderr[-500:]
    score, verdict = float(match.group(1)), match.group(2)
    assert score <= 2.0 and verdict in ("OK", "SAFE"), (score, verdict)
    assert f"exposure level {match.group(1)} {verdict}" in (ROOT / "README.md").read_text(encoding="utf-8")
