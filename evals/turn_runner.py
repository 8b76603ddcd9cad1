"""Run scripted conversations through the agent and record per-turn LLM calls, attempts and latency."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from graph.agent import Agent
from models.structured import CallCounter

# Conversations of 3 turns: the first turn warms the server's prompt cache; later turns are what users feel.
CONVERSATIONS: list[list[tuple[str, str]]] = [
    [("chat", "hi there!"), ("rec", "recommend three comedies from the 90s"), ("rec", "something darker, a thriller maybe")],
    [("rec", "I loved Toy Story, something similar but released after 2000"), ("chat", "thanks!"),
     ("rec", "any animated movies from the 80s?")],
    [("chat", "hello"), ("rec", "a sci-fi movie but no horror"), ("lookup", "what year did The Matrix come out?")],
    [("rec", "a romantic comedy from before 1980"), ("rec", "something like Inception or Memento"),
     ("chat", "who are you?")],
    [("chat", "good morning"), ("rec", "I hate musicals. Any good war movies?"),
     ("rec", "a feel-good movie to watch with my kids")],
]


@dataclass
class TurnRecord:
    conversation: int
    turn: int
    kind: str
    seconds: float
    llm_calls: int
    attempts: int
    items: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    llm_seconds: float


def run_conversations(agent: Agent, conversations: list[list[tuple[str, str]]] | None = None,
                      user: str = "bench") -> list[TurnRecord]:
    records: list[TurnRecord] = []
    counter = CallCounter()
    for ci, conv in enumerate(conversations or CONVERSATIONS):
        thread = f"bench-{uuid.uuid4().hex[:8]}"
        for ti, (kind, text) in enumerate(conv):
            counter.reset()
            cfg: dict[str, Any] = agent.config(thread, f"{user}-{ci}")
            cfg["callbacks"] = [counter]
            t = time.perf_counter()
            from langchain_core.messages import HumanMessage

            state = agent.graph.invoke({"messages": [HumanMessage(text)]}, cfg)
            dt = time.perf_counter() - t
            snap = counter.snapshot()
            records.append(TurnRecord(ci, ti, kind, dt, int(state.get("llm_calls", 0)), int(state.get("attempts", 0)),
                                      len(state.get("items", [])), snap["prompt_tokens"], snap["completion_tokens"],
                                      snap["cached_tokens"], float(sum(snap["latencies_s"]))))
    return records
