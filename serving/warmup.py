"""Load what turns would otherwise load lazily, once at startup instead of inside users' first turns.

It also works around a cost in graph/deps.py: `deps.tools(mode, seed)` copies the loaded vectors and
models from the base tool context, but turns use seed >= 1, so the base context never loads them and
every turn that runs `similar` re-read all item vectors from Chroma (~0.4 s). Loading them on the
base context here makes every later copy share them.
"""

from __future__ import annotations

import logging
import time

from graph.agent import Agent

log = logging.getLogger("interec.serving")
SHARED = ("item_vectors", "index", "ranker", "itemcf")  # the attributes deps.tools() copies


def warm_up(agent: Agent) -> float:
    started = time.perf_counter()
    deps = agent.deps
    base = deps.tools()
    for name in SHARED:
        getattr(base, name, None)
    deps.profiles.embedder.embed(["warm up"])
    _ = deps.domain.resolver, deps.domain.table, deps.plan_model, deps.plan_system
    seconds = time.perf_counter() - started
    log.info("warmed up in %.1f s", seconds)
    return seconds
