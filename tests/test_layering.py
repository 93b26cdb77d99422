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


# -- capabilities as objects (issue 11) ------------------------------------------------------------
TABLE_MODULES = {"communities": "communities", "consultations": "consultations", "crisis": "crisis",
                 "digests": "digests", "referrals": "referrals", "people": None}


def _runtime_imports(tree: ast.Module) -> list[ast.ImportFrom]:
    """`from x import y` statements that run (those under `if TYPE_CHECKING:` only name types)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in skipped]


def test_capabilities_read_only_their_own_tables() -> None:
    """A capability queries its own tables and the core's; another capability's data comes through that
    capability's service (a row type it returns may be named for typing only)."""
    owner = {}
    for path in python_files("storage/tables"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                owner[node.name] = path.stem
    offenders = []
    for cap, own in TABLE_MODULES.items():
        for path in python_files(f"bot/{cap}"):
            for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
                if node.module and node.module.startswith("storage.tables"):
                    for alias in node.names:
                        table_module = owner.get(alias.name)
                        if table_module not in ("core", own):
                            offenders.append(f"{path.relative_to(ROOT)} uses {alias.name} ({table_module})")
    assert offenders == []


GLOBAL_REGISTRIES = {"REGISTRY", "PERIODIC", "STARTUP", "PROVIDERS", "PERSON_MERGE_HOOKS", "NOTIFIER",
                     "RESERVED_SLUGS", "PLATFORM_LIMITS"}


def test_no_global_registry_and_no_wiring_by_import() -> None:
    """What an application runs comes from its assembly: no module-level registry that imports fill, no
    import kept only for its side effect, no capability list but the composition root's."""
    offenders = []
    for path in python_files("bot"):
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if "noqa: F401" in text:
            offenders.append(f"{rel}: an import kept for its side effect")
        for node in ast.parse(text).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            for target in targets:
                if isinstance(target, ast.Name) and target.id in GLOBAL_REGISTRIES and rel not in COMPOSITION_ROOT:
                    offenders.append(f"{rel}: {target.id}")
    assert offenders == []
    assert not (ROOT / "bot" / "capabilities.py").exists() and not (ROOT / "bot" / "delivery.py").exists()


def test_every_capability_package_is_assembled_and_declares_its_modules() -> None:
    """Each capability package exports CAPABILITY, the default assembly has them all, and every module
    holding a command, a periodic job or a start-up hook is listed by its capability (else it would
    silently never run)."""
    import importlib

    from bot.app import default_capabilities
    from bot.commands.registry import commands_of
    from bot.scheduler import is_startup_hook, periodic_job_of

    capabilities = default_capabilities()
    packages = {c.name: c for c in capabilities}
    assert set(CAPABILITIES) | {"help"} == set(packages)
    for cap in CAPABILITIES:
        assert importlib.import_module(f"bot.{cap}").CAPABILITY is packages[cap]
    listed = {m for c in capabilities for m in c.modules}
    declaring = set()
    for path in python_files("bot"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if name.endswith("__init__") or name in {"bot.cli", "bot.i18n.tool", "bot.commands.reference"}:
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if getattr(value, "__module__", None) == name and (
                    commands_of(value) or periodic_job_of(value) or is_startup_hook(value)):
                declaring.add(name)
    assert declaring == listed
