"""LangSmith tracing, opt-in: one tracer per app, passed in each run's callbacks.

An explicit tracer (rather than the LANGSMITH_* globals alone) means the settings are read when the
app is created, not cached at first use, and shutdown flushes with a time limit instead of the
client's exit-time retries. Graph nodes appear as spans named after the node (load_memory, plan,
execute, reflect, respond, save_memory), LLM calls as plan_llm / reply_llm, and every plan step as a
"tool" span named tool:<name> (graph/nodes/execute.py runs each step as a tool run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from serving.settings import Settings

log = logging.getLogger("interec.serving")
FLUSH_TIMEOUT_S = 5.0


@contextmanager
def tracing(settings: Settings) -> Iterator[list[Any]]:
    """Yields the callbacks for each run: [] when tracing is off."""
    if not settings.tracing:
        yield []
        return
    from langchain_core.tracers.langchain import LangChainTracer
    from langsmith import Client

    client = Client(api_url=settings.langsmith_endpoint, api_key=settings.langsmith_api_key)
    tracer = LangChainTracer(project_name=settings.langsmith_project, client=client)
    try:
        yield [tracer]
    finally:
        try:
            client.flush(timeout=FLUSH_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - tracing must never break shutdown
            log.warning("LangSmith flush failed: %s", e)
