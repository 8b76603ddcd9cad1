"""An eval run's folder: one JSON record per (system, case), written atomically, so a stopped run resumes
where it stopped and a different run in the same folder is refused."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any


class RunConfigError(ValueError):
    """A run folder that holds a different run."""


def _safe_name(s: str) -> str:
    return re.sub(r"[^\w.-]+", "_", s)[:120]


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class RunDir:
    def __init__(self, root: Path):
        self.root = Path(root)

    def record_path(self, system: str, case_id: str) -> Path:
        return self.root / "records" / _safe_name(system) / f"{_safe_name(case_id)}.json"

    def load(self, system: str, case_id: str) -> dict[str, Any] | None:
        data = read_json(self.record_path(system, case_id))
        return data if isinstance(data, dict) else None

    def save(self, system: str, case_id: str, record: dict[str, Any]) -> None:
        write_json(self.record_path(system, case_id), record)

    def check_config(self, fingerprint: dict[str, Any], fresh: bool = False) -> None:
        path = self.root / "config.json"
        old = read_json(path)
        if old and not fresh:
            diff = {k: (old.get(k), v) for k, v in fingerprint.items() if old.get(k) != v}
            if diff:
                detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
                raise RunConfigError(f"{self.root} holds a different run ({detail}); use another --out or --fresh")
        if fresh and (self.root / "records").exists():
            import shutil

            shutil.rmtree(self.root / "records")
        write_json(path, fingerprint)
