"""The house rules: arrows point one way (app/serving/evals -> graph -> tools, memory -> models -> prompts),
no import cycles, no module over 400 lines.

Every import statement counts, including one inside a function or under TYPE_CHECKING: an import moved into
a function to dodge a cycle still is one. Standard library only (ast + graphlib), so the check has no install.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("graph", "tools", "memory", "models", "evals", "serving", "prompts")
# what each top-level part may import (besides itself)
ALLOWED = {
    "app": {"graph", "models", "evals", "serving", "tools", "memory", "prompts"},
    "serving": {"graph", "tools", "memory", "models", "prompts"},
    "evals": {"graph", "tools", "memory", "models", "prompts"},
    "graph": {"tools", "memory", "models", "prompts"},
    "tools": {"models", "prompts"},
    "memory": {"models", "prompts"},
    "models": {"prompts"},
    "prompts": set(),
}


def _modules(root: Path) -> dict[str, Path]:
    mods = {"app": root / "app.py"}
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            name = ".".join(f.relative_to(root).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = f
    return mods


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from pkg import name` counts as pkg.name when that is a module)."""
    mods = _modules(root)
    out: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:  # relative: against this module's package (an __init__ is its own package)
                    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
                    base = ".".join([*pkg[: len(pkg) - node.level + 1], node.module])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    out[mod].add(t)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        return list(e.args[1])
    return []


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle == [], f"import cycle: {' -> '.join(cycle)}"


def test_layers_point_one_way() -> None:
    wrong = sorted(f"{a} -> {b}" for a, deps in import_graph().items() for b in deps
                   if (pa := a.split(".")[0]) != (pb := b.split(".")[0]) and pb not in ALLOWED[pa])
    assert wrong == [], "imports against the layers:\n" + "\n".join(wrong)


def test_the_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "a.py").write_text("from tools.b import y\n")
    (tmp_path / "tools" / "b.py").write_text("def f():\n    from tools import a\n    return a\n")
    graph = import_graph(tmp_path)
    assert graph["tools.a"] == {"tools.b"} and graph["tools.b"] == {"tools.a"}
    assert sorted(set(find_cycle(graph))) == ["tools.a", "tools.b"]


def test_no_module_over_400_lines() -> None:
    """Small, single-purpose modules: one that outgrows 400 lines is split by what its parts are for."""
    long = sorted(f"{f.relative_to(ROOT)}: {n}" for f in _modules(ROOT).values()
                  if (n := len(f.read_text(encoding="utf-8").splitlines())) > 400)
    assert long == [], "modules over 400 lines:\n" + "\n".join(long)


def private_imports(root: Path = ROOT) -> list[str]:
    """`from pkg.mod import _helper` across modules: a helper with a second user belongs in a shared module
    under a public name (tools/common.py, models/titles.py), not reached into."""
    mods = _modules(root)
    out = []
    for mod, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in (*PACKAGES, "app"):
                out += [f"{mod}: from {node.module} import {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    return sorted(out)


def test_no_module_imports_another_modules_private_names() -> None:
    found = private_imports()
    assert found == [], "private names imported from another module:\n" + "\n".join(found)
