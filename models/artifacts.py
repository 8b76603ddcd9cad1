"""Where a domain's built artifacts live and the manifest that records each build step's inputs.

A leaf: the build, the domain, the embedder and the training code all read it, and it imports none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from models.config import DomainConfig

MANIFEST = "manifest.json"


def artifacts_root() -> Path:
    return Path(os.environ.get("INTEREC_ARTIFACTS") or Path.home() / ".cache" / "interec" / "artifacts").expanduser()


def artifacts_dir(cfg: DomainConfig, root: Path | str | None = None) -> Path:
    """Per-domain folder outside the source tree; the path hash keeps two same-named domains apart."""
    tag = hashlib.sha256(str(cfg.root).encode()).hexdigest()[:8]
    return Path(root or artifacts_root()).expanduser().resolve() / f"{cfg.name}-{tag}"


def read_manifest(art: Path) -> dict[str, Any]:
    p = art / MANIFEST
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except json.JSONDecodeError:
        return {}


def write_manifest(art: Path, manifest: dict[str, Any]) -> None:
    tmp = art / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(art / MANIFEST)
