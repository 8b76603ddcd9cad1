"""Plan quality of an LLM on labelled requests: valid structured plans and the expected tool family.

Reported twice: for the LLM's raw plan, and for the plan after the code-side repair the agent applies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage

from graph.deps import AgentDeps
from graph.nodes.plan import plan_messages
from graph.plan_schema import plan_steps
from graph.state import State
from graph.understand import read_conversation
from graph.validate import Proposal, Reading, repair_plan
from models.llm import LLMOutputError

FAMILIES = ("chit-chat", "lookup", "filter", "retrieve", "rank")


def family_ok(family: str, steps: list[dict[str, Any]]) -> bool:
    tools = {s["tool"] for s in steps}
    if family == "chit-chat":
        return not tools
    if family == "lookup":
        return bool(tools & {"lookup", "sql"}) and not tools & {"rank", "similar", "retrieve", "filter", "match"}
    if family == "filter":  # stated conditions: a hard filter, or the soft match code turns it into
        return bool(tools & {"filter", "match"})
    if family == "retrieve":
        return "retrieve" in tools
    if family == "rank":
        return bool(tools & {"rank", "similar"}) and "filter" not in tools
    raise ValueError(f"unknown family {family}")


@dataclass
class PlanQuality:
    n: int = 0
    valid: int = 0
    raw_ok: int = 0
    fixed_ok: int = 0
    seconds: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"requests": self.n, "valid_rate": self.valid / max(self.n, 1),
                "family_rate_raw": self.raw_ok / max(self.n, 1), "family_rate_repaired": self.fixed_ok / max(self.n, 1),
                "mean_plan_s": sum(self.seconds) / max(len(self.seconds), 1)}


def load_requests(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate_plans(deps: AgentDeps, requests: list[dict[str, str]]) -> PlanQuality:
    from models.structured import structured_call

    q = PlanQuality()
    for req in requests:
        text, family = req["request"], req["family"]
        state: State = {"messages": [HumanMessage(text)], "profile": {},
                        "demos": deps.demos.select(text, deps.n_demos) if deps.demos else []}
        q.n += 1
        t = time.perf_counter()
        try:
            raw = structured_call(deps.llm, deps.plan_model, plan_messages(deps, state, text), name="plan")
        except LLMOutputError as e:
            q.seconds.append(time.perf_counter() - t)
            q.rows.append({"request": text, "family": family, "valid": False, "error": str(e)[:200]})
            continue
        q.seconds.append(time.perf_counter() - t)
        q.valid += 1
        raw_steps = plan_steps(raw, deps.domain.schema)
        hints, ages = read_conversation(deps.reader, [text])
        fixed = repair_plan(Proposal(raw_steps, raw.reply, raw.like, raw.dislike),
                            Reading(hints, ages, [text], {}, text), deps.domain)
        ok_raw, ok_fixed = family_ok(family, raw_steps), family_ok(family, fixed.steps)
        q.raw_ok += ok_raw
        q.fixed_ok += ok_fixed
        q.rows.append({"request": text, "family": family, "valid": True, "raw": [s["tool"] for s in raw_steps],
                       "repaired": [s["tool"] for s in fixed.steps], "raw_ok": ok_raw, "repaired_ok": ok_fixed})
    return q
