"""LangSmith tracing, opt-in: one tracer per app, passed in each run's callbacks.

An explicit tracer (rather than the LANGSMITH_* globals alone) means the settings are read when the
app is created, not cached at first use. Its client is the bounded one of `models.tracing` (short
timeouts, daemon sender threads, one-line failure logs without key material), and shutdown flushes
with a time limit, so a dead collector neither stalls the server's exit nor fills its log. Graph nodes
appear as spans named after the node (load_memory, plan, execute, reflect, respond, save_memory), LLM
calls as plan_llm / reply_llm, and every plan step as a "tool" span named tool:<name>
(graph/nodes/execute.py runs each step as a tool run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from models.tracing import EXIT_FLUSH_S, configure_from_env, flush, make_client
from serving.settings import Settings

log = logging.getLogger("interec.serving")
FLUSH_TIMEOUT_S = EXIT_FLUSH_S


@contextmanager
def tracing(settings: Settings) -> Iterator[list[Any]]:
    """Yields the callbacks for each run: [] when tracing is off."""
    if not settings.tracing:
        yield []
        return
    from langchain_core.tracers.langchain import LangChainTracer

    configure_from_env()  # runs outside a request (warm-up) use LangChain's env tracer: make its client bounded too
    client = make_client(settings.langsmith_endpoint, settings.langsmith_api_key)
    tracer = LangChainTracer(project_name=settings.langsmith_project, client=client)
    try:
        yield [tracer]
    finally:
        flush(client, FLUSH_TIMEOUT_S)
