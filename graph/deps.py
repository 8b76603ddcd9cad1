"""What the graph's nodes need besides state: the domain, its tools, the LLM and the stores.

Built once per process (CLI, server lifespan, test fixture) and closed over by the nodes, so no
node opens clients or loads models on its own.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from graph.plan_schema import compact_conditions, make_plan_model, plan_tools
from graph.understand import Reader
from memory.demos import DemoStore, load_demos
from memory.profile import ProfileStore
from models.domain import Domain
from prompts import load
from tools.context import ToolContext

log = logging.getLogger("interec.graph")
DEMO_MODES = ("prefix", "nearest")


def demo_messages(demos: list[dict[str, Any]]) -> list[BaseMessage]:
    """Worked examples as the chat turns the planner copies: the request, then its plan as compact JSON, with
    filter conditions as the "<col> <op> <val>" strings the planner should write."""
    return [m for d in demos for m in (HumanMessage(d["request"]),
                                       AIMessage(json.dumps(compact_conditions(d["plan"]), separators=(",", ":"))))]


@dataclass
class AgentDeps:
    domain: Domain
    llm: BaseChatModel
    profiles: ProfileStore
    demos: DemoStore | None = None
    critic: str = "rules"  # rules | llm (an extra LLM call that reviews each attempt)
    max_attempts: int = 3
    history_turns: int = 3  # the planner sees h - 1 or h earlier user messages (plan.history_window); never replies
    n_demos: int = 3
    # where the planner's worked examples go. "prefix": every demo the domain supports, after the system prompt,
    # the same each call, so the server's prompt cache keeps them (a local model re-reads only the turn's own
    # text). "nearest": the n_demos most similar to the message, chosen per turn (RecAI's dynamic
    # demonstrations; ~200 more prompt tokens a call that no cache can reuse: 5-8 s on 2 cores). INTEREC_DEMOS.
    demo_mode: str = field(default_factory=lambda: os.environ.get("INTEREC_DEMOS", "prefix"))
    use_models: bool = True
    code_small_talk: bool = True  # answer greetings / thanks / "who are you" without an LLM call
    code_plans: bool = True  # plan fully understood requests in code (see graph/nodes/plan.py: understood)
    # who writes recommendation lists: "template" (code, from the tools' facts: no LLM call, seconds faster on
    # a local model) or "llm" (the reply writer prompt, checked against the catalog). INTEREC_REPLY_WRITER.
    writer: str = field(default_factory=lambda: os.environ.get("INTEREC_REPLY_WRITER", "template"))
    warming: threading.Thread | None = field(default=None, repr=False)  # the prefix warm-up, while it runs
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.demo_mode not in DEMO_MODES:
            raise ValueError(f"demo mode must be one of {', '.join(DEMO_MODES)} (got {self.demo_mode!r}; INTEREC_DEMOS)")

    def tools(self, mode: str = "accuracy", seed: int = 0) -> ToolContext:
        """A light per-turn context; vectors, index and models are loaded once and shared."""
        return ToolContext(self.domain, mode, seed, self.use_models, self._shared)

    @cached_property
    def reader(self) -> Reader:
        """Reads each message against the domain's vocabulary; the encoder matches words no value names."""
        encode = None
        if self.use_models:
            from models.embedder import get_embedder

            emb = get_embedder(None)
            encode = emb.embed
        return Reader(self.domain, encode)

    @cached_property
    def plan_model(self) -> Any:
        return make_plan_model(self.domain.schema)

    @cached_property
    def plan_prefix(self) -> list[BaseMessage]:
        """The stable head of every plan prompt: system text, then the worked examples in prefix mode."""
        demos = load_demos(self.domain) if self.demo_mode == "prefix" else []
        return [SystemMessage(self.plan_system), *demo_messages(demos)]

    def warm_planner(self) -> threading.Thread | None:
        """Have the embedded model read the plan prefix now, in the background, so the user's first request
        reuses it from the server's cache. Reading it costs ~50 s on 2 cores, so the result is saved to disk
        and later processes load it instead. Remote endpoints are left alone: a call there costs money and
        their caches are their own."""
        if getattr(self.llm, "interec_provider", None) != "local":
            return None

        def run() -> None:
            from models.local_llm import slot_cache, slot_name

            name = slot_name("plan", json.dumps([[m.type, m.content] for m in self.plan_prefix]))
            try:
                if slot_cache(name, "restore"):  # read on this machine before: loaded in well under a second
                    return
                self.llm.bind(max_tokens=1).invoke([*self.plan_prefix, HumanMessage("hello")],
                                                   config={"tags": ["nostream", "warm-up"], "run_name": "plan_warm_up"})
                slot_cache(name, "save")
            except Exception as e:  # noqa: BLE001 - only a head start: the first real call reads the prefix itself
                log.info("plan prefix warm-up failed: %s", e)

        thread = threading.Thread(target=run, name="plan-warm-up", daemon=True)
        thread.start()
        self.warming = thread
        return thread

    @cached_property
    def plan_system(self) -> str:
        schema = self.domain.schema
        tool_lines = []
        for t in plan_tools():
            fields = ", ".join(t.make_args(schema).model_fields)
            tool_lines.append(f"- {t.name} {{{fields}}}: {t.description}")
        lists = [c.name for c in schema.columns if c.kind == "list"]
        time = self.domain.vocabulary.time
        ycol = time.name if time is not None else None
        nums = [c.name for c in schema.columns if c.kind == "number" and c.name not in (ycol, "popularity")]
        word = self.domain.config.item_word
        return load("plan_system").format(item=word, items=self.domain.config.items_word, tools="\n".join(tool_lines),
                                          ycol=ycol or "year", listcol=lists[0] if lists else "category",
                                          numcol=nums[0] if nums else "popularity",
                                          schema=schema.prompt())
