"""Dependencies point inward: adapters → bot → storage (design §1)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
COMPOSITION_ROOT = {"bot/app.py", "bot/cli.py"}
CAPABILITIES = {"communities", "consultations", "referrals", "crisis", "digests", "people"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def python_files(top: str) -> list[Path]:
    return sorted((ROOT / top).rglob("*.py"))


def test_bot_never_imports_adapters() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in python_files("bot")
                 if str(p.relative_to(ROOT)) not in COMPOSITION_ROOT
                 and any(m == "adapters" or m.startswith("adapters.") for m in imports(p))]
    assert offenders == []


def test_storage_never_imports_bot_or_adapters() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in python_files("storage")
                 if any(m.split(".")[0] in ("bot", "adapters") for m in imports(p))]
    assert offenders == []


def test_capabilities_use_each_others_service_only() -> None:
    offenders = []
    for cap in CAPABILITIES:
        for path in python_files(f"bot/{cap}"):
            for module in imports(path):
                parts = module.split(".")
                if len(parts) >= 3 and parts[0] == "bot" and parts[1] in CAPABILITIES and parts[1] != cap \
                        and parts[2] != "service":
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []
