"""execute: run the plan's steps over the candidate bus; a failing step is recorded, never raised."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from graph.context import Context
from graph.deps import AgentDeps
from graph.nodes.common import emit
from graph.state import State
from tools.bus import Bus
from tools.registry import run_step
from tools.toolbox import get_tool


def run_steps(deps: AgentDeps, steps: list[dict[str, Any]], mode: str = "accuracy", seed: int = 0,
              shown: list[int] | None = None) -> Bus:
    ctx = deps.tools(mode, seed)
    bus = Bus(shown=list(shown or []))
    schema = deps.domain.schema
    for step in steps:
        name = step.get("tool", "?")
        args = {k: v for k, v in step.items() if k != "tool"}
        emit({"stage": "tool", "tool": name, "candidates": bus.size(ctx.n_items)})
        try:
            spec = get_tool(name)
            parsed = spec.make_args(schema).model_validate(args)
            out = run_step(spec, ctx, bus, parsed)
            bus.record(name, args, out, visible=spec.family in ("lookup", "map"))
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors()[:3])
            bus.record(name, args, f"bad input: {problems}", error=True)
        except Exception as e:  # noqa: BLE001 - any tool failure is data for the critic, not a crash
            bus.record(name, args, f"{type(e).__name__}: {e}"[:400], error=True)
    return bus


def gen_rank_bus(deps: AgentDeps, state: State, bus: Bus) -> tuple[Bus, int]:
    """`rank="gen"` (a turn setting): the LLM picks the mapped items from the top bus candidates under a
    catalog constraint (models/constrained.py). Tools never call the LLM, so this runs here, after them."""
    from graph.nodes.common import last_user_text
    from models.constrained import gen_rerank

    pool = bus.candidates if bus.candidates is not None else bus.mapped
    try:
        items, r = gen_rerank(deps.llm, deps.domain, pool, bus.seeds, len(bus.mapped),
                              last_user_text(state.get("messages", [])))
    except Exception as e:  # noqa: BLE001 - the tools' order stands; the failure is recorded
        bus.record("gen-rank", {}, f"kept the tools' order: {type(e).__name__}: {e}"[:400], error=False)
        return bus, 1
    if items:
        bus.mapped = items
    bus.record("gen-rank", {"pool": min(len(pool), 30)},
               f"LLM picked {len(r.items)} of {r.allowed} allowed titles"
               + (f", dropped {len(r.dropped)}" if r.dropped else ""))
    return bus, r.calls


DOKE_POOL = 20  # candidates the LLM re-ranks with knowledge (the doke suite measures this size)


def doke_rank_bus(deps: AgentDeps, state: State, bus: Bus) -> tuple[Bus, int]:
    """`rank="doke"` (a turn setting): the LLM re-orders the top bus candidates, its prompt carrying the DOKE
    knowledge selected for this user (tools/knowledge.py); it only orders items the tools found."""
    from tools.knowledge import select_knowledge, wants_from_turn
    from tools.rerank import llm_rerank

    ctx = deps.tools("accuracy", 0)
    cands = [i for i in (bus.candidates if bus.candidates is not None else bus.mapped) if i not in bus.seeds]
    shown = set(bus.shown)
    pool = sorted(cands, key=lambda i: i in shown)[:DOKE_POOL]  # stable: unseen first, each in the tools' order
    wants = wants_from_turn(ctx, state.get("plan") or {}, state.get("profile") or {}, bus)
    knowledge = select_knowledge(ctx, wants, pool)
    n = len(bus.mapped)
    ranked, info = llm_rerank(deps.llm, ctx, wants.history, pool, knowledge, top=n)
    if ranked:
        bus.mapped = (ranked + [i for i in bus.mapped if i not in ranked] + [i for i in pool if i not in ranked])[:n]
    note = info["error"] or f"LLM ordered {len(ranked)} of {len(pool)} with {len(knowledge.facts)} knowledge facts"
    bus.record("doke-rank", {"pool": len(pool)}, f"kept the tools' order: {note}" if not ranked else note)
    return bus, 1


def make_execute(deps: AgentDeps) -> Any:
    def execute(state: State, config: RunnableConfig) -> dict[str, Any]:
        s = Context.from_config(config)
        plan = state.get("plan") or {}
        bus = run_steps(deps, plan.get("steps", []), s.mode, s.seed + state.get("attempts", 0), state.get("shown"))
        for note in state.get("plan_notes", []):
            bus.track.insert(0, {"tool": "plan-check", "input": {}, "output": note, "error": False, "visible": False})
        bus.trim_fit()
        emit({"stage": "executed", "items": len(bus.mapped), "errors": len(bus.errors())})
        if s.rank != "tools" and bus.mapped:  # opt-in: the LLM re-ranks the tools' top candidates
            bus, calls = (gen_rank_bus if s.rank == "gen" else doke_rank_bus)(deps, state, bus)
            return {"bus": bus.to_dict(), "llm_calls": state.get("llm_calls", 0) + calls}
        return {"bus": bus.to_dict()}

    return execute
