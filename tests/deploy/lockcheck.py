"""What the lock files were made from: a fingerprint of pyproject.toml's requirements (standard library only,
so `scripts/lock` can call it before anything is installed), and a reader of hashed lock files.

    python -m tests.deploy.lockcheck fingerprint
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def requirements() -> dict[str, list[str]]:
    """Every requirement the locks answer for, by where pyproject.toml declares it."""
    data = pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    build = data["build-system"]
    assert isinstance(build, dict)
    return {"dependencies": list(project["dependencies"]),
            "test": list(project.get("optional-dependencies", {}).get("test", [])),
            "build": list(build["requires"]), "requires-python": [str(project["requires-python"])]}


def fingerprint() -> str:
    normalized = {k: sorted(re.sub(r"\s+", "", r) for r in v) for k, v in requirements().items()}
    digest = hashlib.sha256(json.dumps(normalized, sort_keys=True).encode()).hexdigest()
    return f"pyproject-sha256={digest}"


@dataclass
class Pin:
    name: str  # normalized (PEP 503)
    version: str
    marker: str
    hashes: list[str] = field(default_factory=list)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> tuple[str, list[Pin]]:
    """The lock's first line (with its fingerprint) and its pins, each with its hashes and marker."""
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    pins: list[Pin] = []
    for raw in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(\[[^\]]*\])?==([^\s;]+)\s*"
                         r"(;\s*([^-][^#]*?))?\s*((--hash=\S+\s*)*)(#.*)?$", line)
        assert match, f"{path.name}: cannot read {line!r}"
        hashes = re.findall(r"--hash=(\S+)", match.group(6) or "")
        pins.append(Pin(canonical(match.group(1)), match.group(3), (match.group(5) or "").strip(), hashes))
    return first, pins


if __name__ == "__main__":
    if sys.argv[1:] == ["fingerprint"]:
        print(fingerprint())
    else:
        sys.exit(__doc__)
