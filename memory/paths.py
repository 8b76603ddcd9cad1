"""Where user data (threads, profiles) lives: outside the source tree, configurable."""

from __future__ import annotations

import os
from pathlib import Path


def memory_dir() -> Path:
    p = Path(os.environ.get("INTEREC_MEMORY_DIR") or Path.home() / ".local" / "share" / "interec").expanduser()
    p.mkdir(parents=True, exist_ok=True)
    return p
