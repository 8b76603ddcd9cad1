"""reflect: cheap rules first (errors, empty results, too few items), then optionally an LLM critic.

On rejection the advice goes back to plan (at most max_attempts in all); the best attempt is kept
so that, when retries run out, the reply is built from it and says what could not be satisfied.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from pydantic import Field

from graph.deps import AgentDeps
from graph.nodes.common import emit, last_user_text
from graph.nodes.plan import RELAX
from graph.state import Plan, State
from models.llm import LLMError
from prompts import load, template
from tools.bus import Bus
from tools.registry import Args


class Critique(Args):
    ok: bool
    advice: Annotated[str, Field(max_length=300)] = ""


def quality(bus: Bus, plan: Plan) -> float:
    """Higher is better: items or facts delivered, minus failures."""
    return len(bus.mapped) + min(len(bus.rows), 5) - 3 * len(bus.errors()) + (1 if plan.get("reply") else 0)


def rule_critique(bus: Bus, plan: Plan) -> str | None:
    steps = plan.get("steps", [])
    recommending = any(s["tool"] == "map" for s in steps)
    for t in bus.errors():
        if t["tool"] in ("lookup", "sql") and bus.rows:
            continue
        return template("critique_step_failed").format(tool=t["tool"], error=t["output"][:200])
    if recommending and not bus.mapped:
        return template("critique_relax").format(nothing=RELAX)
    if not recommending and steps and not bus.rows and any(s["tool"] in ("lookup", "sql") for s in steps):
        return template("critique_no_rows")
    return None


def make_reflect(deps: AgentDeps) -> Any:
    from models.structured import structured_call

    def reflect(state: State, config: RunnableConfig) -> dict[str, Any]:
        emit({"stage": "reflecting"})
        plan = state.get("plan")
        update: dict[str, Any] = {}
        if plan is None:  # unparseable plan: the critique was already written by plan
            return update
        bus = Bus.from_dict(state.get("bus"))
        q = quality(bus, plan)
        best = state.get("best")
        if best is None or q > best["quality"]:
            update["best"] = {"bus": bus.to_dict(), "plan": plan, "quality": q}
        advice = rule_critique(bus, plan)
        calls = state.get("llm_calls", 0)
        if advice is None and deps.critic == "llm" and plan.get("steps"):
            calls += 1
            titles = [deps.domain.titles[i] for i in bus.mapped]
            track = "\n".join(f"- {t['tool']} {t['input']}: {t['output'][:200]}" for t in bus.track)
            word = deps.domain.config.item_word
            msgs = [SystemMessage(load("critic_system").format(item=word, items=word + "s")),
                    HumanMessage(template("critic_user").format(request=last_user_text(state.get("messages", [])),
                                                            steps=track, titles="; ".join(titles) or "nothing"))]
            try:
                crit = structured_call(deps.llm, Critique, msgs, name="critique",
                                       config={"tags": ["nostream", "critic"], "run_name": "critic_llm"})
                if not crit.ok:
                    advice = crit.advice or template("critique_revise")
            except LLMError:
                advice = None  # a failing critic must not block an otherwise good answer
        update["llm_calls"] = calls
        if advice:
            update["critiques"] = [*state.get("critiques", []), advice]
            emit({"stage": "critique", "advice": advice})
        return update

    return reflect


def route_after_reflect(deps: AgentDeps) -> Any:
    def route(state: State) -> Literal["plan", "respond"]:
        if state.get("error") or (state.get("plan") or {}).get("llm_down"):
            return "respond"  # a model that is down would only time out again on a second plan
        rejected = state.get("plan") is None or (
            bool(state.get("critiques")) and len(state["critiques"]) >= state.get("attempts", 0))
        return "plan" if rejected and state.get("attempts", 0) < deps.max_attempts else "respond"

    return route
