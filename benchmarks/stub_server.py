"""What the serving benchmarks share: the app with a stub LLM, a uvicorn on 127.0.0.1, percentiles."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

ROOT = Path(__file__).resolve().parents[1]


def stub_app(llm: BaseChatModel, prefix: str, default_users: int) -> Any:
    """The real app over a stub LLM, configured by `<prefix>_DOMAIN`, `_MEMORY` and `_USERS` (one key per user)."""
    from graph.agent import Agent, make_deps
    from graph.builder import build_graph
    from models.build import load_domain
    from serving.app import create_app
    from serving.settings import Settings

    domain = load_domain(os.environ.get(f"{prefix}_DOMAIN", "data/movielens"), build=True)
    mem = Path(os.environ[f"{prefix}_MEMORY"])
    deps = make_deps(domain, llm, memory_path=mem, use_models=False)
    key = prefix.lower()
    keys = {f"{key}-key-{i}": f"user{i}" for i in range(int(os.environ.get(f"{prefix}_USERS", str(default_users))))}
    settings = Settings(domain=str(domain.config.root), checkpoint_url=f"sqlite:///{mem / 'threads.sqlite'}",
                        memory_dir=mem, api_keys=keys, langserve=False)
    return create_app(settings, lambda cp: Agent(deps, build_graph(deps, cp)))


def start_uvicorn(factory: str, env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[bytes], str]:
    """Start `factory` ("module:function") on a free loopback port and wait for /health."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log", *extra], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server ({factory}) exited")
        try:
            if httpx.get(url + "/health", timeout=2).json().get("status") == "ok":
                return proc, url
        except (httpx.HTTPError, ValueError):
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"the server ({factory}) did not start")


def pcts(xs: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds of durations in seconds."""
    if not xs:
        return {}
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=100, method="inclusive") if len(xs) > 1 else [xs[0]] * 99
    return {"p50": round(1000 * q[49], 1), "p95": round(1000 * q[94], 1), "max": round(1000 * xs[-1], 1)}
