"""Run natural conversations through the agent and record per-turn LLM calls, attempts and latency.

The conversations are data, written like people write (typos, moods, follow-ups, prices, periods), in
benchmarks/conversations/<domain>.jsonl: {"id", "domain", "turns": [{"kind": "rec|chat|lookup", "text"}]}.
None of them is in prompts/demos (tests/unit/test_eval_conversations.py checks), so the planner's nearest
demos never hold the measured turn word for word.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.agent import Agent
from models.structured import CallCounter

CONVERSATIONS_DIR = Path(__file__).resolve().parents[1] / "benchmarks" / "conversations"
KINDS = ("rec", "chat", "lookup")


def load_conversations(domain: str | None = None, folder: Path = CONVERSATIONS_DIR) -> list[dict[str, Any]]:
    """Every conversation in the folder (only those of `domain` when given), validated."""
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            conv = json.loads(line)
            turns = conv.get("turns")
            if not conv.get("id") or not conv.get("domain") or not isinstance(turns, list) or len(turns) < 2:
                raise ValueError(f"{path.name}:{n}: a conversation needs id, domain and at least 2 turns")
            for t in turns:
                if t.get("kind") not in KINDS or not str(t.get("text", "")).strip():
                    raise ValueError(f"{path.name}:{n}: each turn needs a kind ({', '.join(KINDS)}) and a text")
            if domain is None or conv["domain"] == domain:
                out.append(conv)
    return out


def as_turns(convs: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
    return [[(t["kind"], t["text"]) for t in c["turns"]] for c in convs]


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
                      user: str = "bench", limit: int | None = None) -> list[TurnRecord]:
    """Each conversation in a fresh thread; default: the data files' conversations of the agent's domain."""
    if conversations is None:
        conversations = as_turns(load_conversations(agent.deps.domain.name))
        if not conversations:
            raise ValueError(f"no conversations for domain {agent.deps.domain.name!r} in {CONVERSATIONS_DIR}")
    conversations = conversations[:limit] if limit else conversations
    records: list[TurnRecord] = []
    counter = CallCounter()
    for ci, conv in enumerate(conversations):
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
