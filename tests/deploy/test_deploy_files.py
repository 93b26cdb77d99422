"""The deployment files hold together: they parse, name real settings, probe /healthz, run as non-root,
and the image's HEALTHCHECK command really tells a healthy Cercle from a stopped one.
(`deploy/check` adds hadolint, yamllint, the Kubernetes schemas and systemd-analyze.)"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.http import HttpServer
from storage.db import make_engine

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


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    build, final = stages((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    assert build[0].startswith("FROM python:3.11-slim AS ") and final[0] == "FROM python:3.11-slim"
    assert any(i.startswith("COPY --from=build /opt/cercle /opt/cercle") for i in final)
    assert not any(re.search(r"apt-get|apk add|gcc|build-essential|pip install", i) for i in final[1:])
    users = [i.split()[1] for i in final if i.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert any(i.startswith("HEALTHCHECK ") and "/healthz" in i for i in final)
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
    ports = {p["name"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz" and container[probe]["httpGet"]["port"] in ports
    assert container["args"] == ["run"]
    assert pod["spec"]["initContainers"][0]["args"] == ["db", "upgrade"]
    refs = {e.get("configMapRef", e.get("secretRef", {}))["name"] for e in container["envFrom"]}
    assert refs == {docs["ConfigMap"]["metadata"]["name"], docs["Secret"]["metadata"]["name"]}
    names = set(docs["ConfigMap"]["data"]) | set(docs["Secret"]["stringData"])
    assert names <= known_settings(), names - known_settings()
    for resource in docs["Kustomization"]["resources"]:
        assert (DEPLOY / "k8s" / resource).is_file()


def test_systemd_unit_upgrades_then_runs_as_its_own_user() -> None:
    unit = dict(line.split("=", 1) for line in (DEPLOY / "cercle.service").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert unit["User"] == "cercle"
    assert unit["ExecStartPre"].endswith("cercle db upgrade") and unit["ExecStart"].endswith("cercle run")
    assert unit["Restart"] == "on-failure" and unit["NoNewPrivileges"] == "true"


def test_env_example_names_only_real_settings() -> None:
    names = {line.split("=", 1)[0] for line in (DEPLOY / "cercle.env.example").read_text().splitlines()
             if line and not line.startswith("#")}
    assert names <= known_settings(), names - known_settings()
