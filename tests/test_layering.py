"""Dependencies point inward: adapters → bot → storage (design §1), and the rules of HACKING.md hold:
no import circle, no platform named in the core, adapters through the core's narrow interface, small modules."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
COMPOSITION_ROOT = {"bot/app.py", "bot/cli.py", "bot/start.py"}  # bot/start.py: the console script
CAPABILITIES = {"communities", "consultations", "referrals", "crisis", "digests", "people", "home"}
PLATFORM_WORD = re.compile(r"\b(slack|matrix|console)\b", re.IGNORECASE)
MAX_LINES = 400
# What adapters may use of `bot`: the core's interface to them (see HACKING.md, "How to add a platform").
# bot.secret_box: the Matrix crypto store seals its keys with CERCLE_SECRET_KEY, like the core's secrets.
ADAPTER_INTERFACE = {"bot.core", "bot.answering", "bot.platforms", "bot.events", "bot.messages", "bot.outbox",
                     "bot.outbox.contract", "bot.outbox.worker", "bot.settings", "bot.i18n", "bot.i18n.typography",
                     "bot.commands.grammar", "bot.forms", "bot.http", "bot.supervision", "bot.metrics",
                     "bot.secret_box"}


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


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _skipped(tree: ast.Module) -> set[int]:
    """Nodes of `if TYPE_CHECKING:` blocks (annotations only) and `if __name__ == "__main__":` blocks (the
    module run as a program is an entry point of its own, like the composition root)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ("TYPE_CHECKING" in ast.unparse(node.test)
                                         or "__main__" in ast.unparse(node.test)):
            skipped.update(id(inner) for inner in ast.walk(node))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Every module of bot/, adapters/ and storage/ -> the modules of those packages it imports when it runs
    (at import time or inside a function: a lazy import is still a dependency)."""
    paths = {module_name(p): p for top in ("bot", "adapters", "storage") for p in python_files(top)}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _skipped(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                targets.update(f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names)
        resolved = set()
        for target in targets:
            while target and target not in paths:
                target = target.rpartition(".")[0]
            if target and target != name:
                resolved.add(target)
        graph[name] = resolved
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def unit(module: str) -> str:
    """The part of the system a module belongs to: the composition root, the core, one capability, one
    platform's adapter, storage."""
    parts = module.split(".")
    if f"{module.replace('.', '/')}.py" in COMPOSITION_ROOT:
        return "composition root"
    if parts[0] == "bot":
        return f"bot.{parts[1]}" if len(parts) > 1 and parts[1] in CAPABILITIES else "core"
    return ".".join(parts[:2])


def test_bot_never_imports_adapters() -> None:
    offenders = [rel(p) for p in python_files("bot")
                 if rel(p) not in COMPOSITION_ROOT
                 and any(m == "adapters" or m.startswith("adapters.") for m in imports(p))]
    assert offenders == []


def test_storage_never_imports_bot_or_adapters() -> None:
    offenders = [rel(p) for p in python_files("storage")
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
                    offenders.append(f"{rel(path)} imports {module}")
    assert offenders == []


def test_adapters_get_the_core_not_the_application() -> None:
    """No adapter imports the composition root; what they use of `bot` is its interface to them."""
    offenders = [f"{module} imports {target}" for module, targets in import_graph().items()
                 if module.startswith("adapters.") for target in targets
                 if target.startswith("bot.") and target not in ADAPTER_INTERFACE]
    assert offenders == []


def test_no_import_circle_between_the_parts_of_the_system() -> None:
    """Composition root → adapters → core ← capabilities, everything → storage: no circle between the parts."""
    graph = import_graph()
    units: dict[str, set[str]] = {}
    for module, targets in graph.items():
        units.setdefault(unit(module), set()).update(unit(t) for t in targets if unit(t) != unit(module))
    assert cycles(units) == []
    assert {"core", "composition root", "storage", "adapters.slack", "adapters.matrix"} <= set(units)


def test_no_import_circle_between_modules_outside_a_platform_package() -> None:
    """Module by module; inside one platform package, its descriptor's factory imports the adapter lazily
    (the adapter reads its own descriptor), which is the one circle allowed."""
    graph = import_graph()
    found = [frozenset(c) for c in cycles(graph)
             if not (len({".".join(m.split(".")[:2]) for m in c}) == 1 and next(iter(c)).startswith("adapters."))]
    assert found == []


def _strings(path: Path) -> Iterator[tuple[int, str]]:
    """String literals that are not docstrings, with their line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_core_names_no_platform() -> None:
    """Only the composition root names the platforms; the rest of `bot` asks their descriptors."""
    offenders = [f"{rel(p)}:{line}: {text[:60]!r}" for p in python_files("bot")
                 if rel(p) not in COMPOSITION_ROOT for line, text in _strings(p) if PLATFORM_WORD.search(text)]
    assert offenders == []


def test_the_platform_check_finds_a_platform_branch(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docstrings may say Slack."""\n\ndef f(p: str) -> bool:\n    return p == "matrix"\n')
    assert [text for _line, text in _strings(sample) if PLATFORM_WORD.search(text)] == ["matrix"]


def test_no_module_is_over_400_lines() -> None:
    sizes = {rel(p): len(p.read_text(encoding="utf-8").splitlines())
             for top in ("bot", "adapters") for p in python_files(top)}
    over = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert over == {}


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
