"""Versioned model folders: weights plus a meta.json (hyperparameters, data hash, metrics).

Saving goes through a temporary sibling folder that is renamed into place, so a crash or a reader in
another process never sees half a model.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

META = "meta.json"


def read_meta(path: str | Path) -> dict[str, Any]:
    """The folder's meta.json, or {} when there is no (readable) model there."""
    p = Path(path) / META
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def writing(path: str | Path, meta: dict[str, Any]) -> Iterator[Path]:
    """Yield a scratch folder to write weights into; on success it replaces `path` with meta.json added."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{time.time_ns()}")
    tmp.mkdir()
    try:
        yield tmp
        meta = {**meta, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / META).write_text(json.dumps(meta, indent=1, sort_keys=True, default=float), encoding="utf-8")
        old = final.with_name(f".{final.name}.old-{time.time_ns()}")
        if final.exists():
            final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
