"""Server settings from the environment, read once when the app is created (not at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from serving.auth import parse_api_keys

TRUE = ("1", "true", "yes", "on")


def _env(*names: str, default: str = "") -> str:
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return default


@dataclass
class Settings:
    domain: str = "data/movielens"
    # more catalogs served by the same app under /d/{name}/... (`serve --domain A --domain B`); `domain` is
    # the first and default one, the one the un-prefixed routes serve
    extra_domains: list[str] = field(default_factory=list)
    artifacts: str | None = None
    checkpoint_url: str | None = None  # None -> open_async_checkpointer's default (SQLite in the memory dir)
    memory_dir: Path | None = None  # profiles (embedded Chroma) and threads; None -> INTEREC_MEMORY_DIR
    api_keys: dict[str, str] = field(default_factory=dict)  # key -> user id; empty: no auth (local use)
    max_body_bytes: int = 64 * 1024
    critic: str = "rules"
    build: bool = False
    threads: int = 64  # worker threads for the graph's sync nodes (asyncio's default is cpu+4)
    torch_threads: int = 1  # per-op torch threads; concurrent requests are the parallelism (see _limit_torch)
    langserve: bool = True
    warmup: bool = True  # load vectors, encoder and models at startup, not in the first users' turns
    tracing: bool = False
    langsmith_endpoint: str | None = None
    langsmith_api_key: str | None = field(default=None, repr=False)
    langsmith_project: str = "interec"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        key = _env("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY") or None
        tracing = _env("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2").lower() in TRUE and key is not None
        mem = os.environ.get("INTEREC_MEMORY_DIR")
        domains = [d.strip() for d in os.environ.get("INTEREC_DOMAINS", "").split(",") if d.strip()]
        s = cls(
            domain=domains[0] if domains else _env("INTEREC_DOMAIN", default="data/movielens"),
            extra_domains=domains[1:],
            artifacts=os.environ.get("INTEREC_ARTIFACTS") or None,
            checkpoint_url=os.environ.get("INTEREC_CHECKPOINT_URL") or None,
            memory_dir=Path(mem).expanduser() if mem else None,
            api_keys=parse_api_keys(os.environ.get("INTEREC_API_KEYS", "")),
            max_body_bytes=int(_env("INTEREC_MAX_BODY_BYTES", default=str(64 * 1024))),
            critic=_env("INTEREC_CRITIC", default="rules"),
            threads=int(_env("INTEREC_SERVE_THREADS", default="64")),
            torch_threads=int(_env("INTEREC_TORCH_THREADS", default="1")),
            langserve=_env("INTEREC_LANGSERVE", default="true").lower() in TRUE,
            warmup=_env("INTEREC_WARMUP", default="true").lower() in TRUE,
            tracing=tracing,
            langsmith_endpoint=_env("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT") or None,
            langsmith_api_key=key,
            langsmith_project=_env("LANGSMITH_PROJECT", "LANGCHAIN_PROJECT", default="interec"),
        )
        for k, v in overrides.items():
            setattr(s, k, v)
        return s

    @property
    def domains(self) -> list[str]:
        """Every served domain folder, the default first."""
        return list(dict.fromkeys([self.domain, *self.extra_domains]))
