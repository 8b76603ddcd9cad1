"""The install adds no generic top-level names (graph, tools, models, ...) to site-packages.

Why: an application whose packages are called `tools` or `models` would shadow (or be shadowed by) another
project's in the same environment. The wheel carries metadata only; the code runs from the checkout.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("graph", "tools", "prompts", "memory", "models", "evals", "serving", "app")


def test_wheel_holds_metadata_only(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("interec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert all(t.endswith(".dist-info") for t in tops), sorted(tops)
    assert not [n for n in names if n.split("/", 1)[0].removesuffix(".py") in CODE]


def test_code_imports_from_the_checkout_only(tmp_path: Path) -> None:
    """Outside the checkout the environment has no `graph` package; inside it the app imports."""
    outside = subprocess.run([sys.executable, "-c", "import graph.builder"], cwd=tmp_path, capture_output=True,
                             text=True, env={"PATH": "/usr/bin:/bin"})
    assert outside.returncode != 0 and "No module named 'graph'" in outside.stderr
    inside = subprocess.run([sys.executable, "-c", "import app, graph.builder, serving.graph_factory"], cwd=ROOT,
                            capture_output=True, text=True)
    assert inside.returncode == 0, inside.stderr
    by_path = ("import importlib.util as u, sys; s = u.spec_from_file_location('factory', sys.argv[1]); "
               "s.loader.exec_module(u.module_from_spec(s))")  # how `langgraph dev` loads langgraph.json's graph
    loaded = subprocess.run([sys.executable, "-c", by_path, str(ROOT / "serving" / "graph_factory.py")],
                            cwd=tmp_path, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
