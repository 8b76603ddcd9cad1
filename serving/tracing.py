"""LangSmith tracing, opt-in: one tracer per app, passed in each run's callbacks.

An explicit tracer (rather than the LANGSMITH_* globals alone) means the settings are read when the
app is created, not cached at first use, and shutdown flushes with a time limit instead of the
client's exit-time retries. Graph nodes appear as spans named after the node (load_memory, plan,
execute, reflect, respond, save_memory), LLM calls as plan_llm / reply_llm, and, while tracing is on,
every plan step as a "tool" span named tool:<name>.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from langchain_core.tools import BaseTool

from serving.settings import Settings

log = logging.getLogger("interec.serving")
FLUSH_TIMEOUT_S = 5.0


class _StepTool(BaseTool):
    """A plan step as a LangChain tool run, so tracers record it as a child of the execute node."""

    description: str = "one plan step over the candidate bus"
    fn: Callable[[], str]

    def _run(self, *args: Any, **kwargs: Any) -> str:
        return self.fn()


def _traced(spec: Any) -> Callable[[Any, Any, Any], str]:
    def run(ctx: Any, bus: Any, args: Any) -> str:
        step = _StepTool(name=f"tool:{spec.name}", fn=lambda: spec.run(ctx, bus, args))
        payload = args.model_dump_json() if hasattr(args, "model_dump_json") else json.dumps(args, default=str)
        return str(step.invoke(payload))  # the config (callbacks, parent run) comes from the node's context

    run.__interec_traced__ = True  # type: ignore[attr-defined]
    return run


@contextmanager
def tool_spans() -> Iterator[None]:
    """Wrap the registered tools in traced runs for as long as the app lives, then restore them."""
    from tools.registry import all_tools, register_tool

    originals = [s for s in all_tools() if not getattr(s.run, "__interec_traced__", False)]
    for spec in originals:
        register_tool(replace(spec, run=_traced(spec)))
    try:
        yield
    finally:
        for spec in originals:
            register_tool(spec)


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
        with tool_spans():
            yield [tracer]
    finally:
        try:
            client.flush(timeout=FLUSH_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - tracing must never break shutdown
            log.warning("LangSmith flush failed: %s", e)
