"""Graph factory for `langgraph dev` / LangGraph Platform (see langgraph.json at the repo root).

That server injects its own checkpointer and store, so the graph is compiled without one. The agent's
deps (domain, LLM, profile store) are built once per process, from the same environment variables
as `python app.py serve` (INTEREC_DOMAIN, INTEREC_ARTIFACTS, INTEREC_LLM_*, INTEREC_MEMORY_DIR).
Per-run settings go in the run's config: {"configurable": {"user_id": ..., "mode": ..., "reply_style": ...}}.
"""

from __future__ import annotations

import asyncio
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

# The server loads this file by path, and the code is not installed (pyproject.toml): put the checkout first.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from graph.builder import build_graph  # noqa: E402
from graph.deps import AgentDeps  # noqa: E402


@lru_cache(maxsize=1)
def _deps() -> AgentDeps:
    from graph.agent import make_deps
    from models.build import load_domain
    from models.llm_factory import get_chat_model
    from serving.settings import Settings

    s = Settings.from_env()
    return make_deps(load_domain(s.domain, s.artifacts), get_chat_model(), s.memory_dir, s.critic)


def compiled_graph() -> Any:
    return build_graph(_deps())


async def make_graph(config: Any = None) -> Any:
    """Called by the LangGraph server with the run's config. Async, with the first (slow, blocking)
    deps build in a thread: the server forbids blocking calls on its event loop."""
    return await asyncio.to_thread(compiled_graph)
