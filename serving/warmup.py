"""Load what turns would otherwise load lazily, once at startup instead of inside users' first turns.

Tool contexts share one dict of loaded resources (tools/context.py), so loading them here once makes
every later turn use them.
"""

from __future__ import annotations

import logging
import time

from graph.agent import Agent

log = logging.getLogger("interec.serving")
SHARED = ("item_vectors", "index", "ranker", "itemcf")  # loaded once into the shared tool resources


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
