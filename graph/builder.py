"""Assemble the InteRecAgent graph: load_memory -> plan -> execute -> reflect -> respond -> save_memory.

`build_builder(deps)` returns the uncompiled StateGraph (tests compile it with their own checkpointer);
`build_graph(deps, checkpointer)` compiles it.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, StateGraph

from graph.deps import AgentDeps
from graph.nodes.execute import make_execute
from graph.nodes.memory_nodes import make_load_memory, make_save_memory
from graph.nodes.plan import make_plan
from graph.nodes.reflect import make_reflect, route_after_reflect
from graph.nodes.respond import make_respond
from graph.state import State


def _after_plan(state: State) -> Literal["execute", "reflect", "respond"]:
    if state.get("error"):
        return "respond"
    plan = state.get("plan")
    if plan is None:
        return "reflect"  # the parse failure is a critique: reflect decides whether to retry
    return "execute" if plan.get("steps") else "respond"


def build_builder(deps: AgentDeps) -> StateGraph:
    g = StateGraph(State)
    g.add_node("load_memory", make_load_memory(deps))
    g.add_node("plan", make_plan(deps))
    g.add_node("execute", make_execute(deps))
    g.add_node("reflect", make_reflect(deps))
    g.add_node("respond", make_respond(deps))
    g.add_node("save_memory", make_save_memory(deps))
    g.add_edge(START, "load_memory")
    g.add_edge("load_memory", "plan")
    g.add_conditional_edges("plan", _after_plan, ["execute", "reflect", "respond"])
    g.add_edge("execute", "reflect")
    g.add_conditional_edges("reflect", route_after_reflect(deps), ["plan", "respond"])
    g.add_edge("respond", "save_memory")
    g.add_edge("save_memory", END)
    return g


def build_graph(deps: AgentDeps, checkpointer: Any = None, **compile_kwargs: Any) -> Any:
    return build_builder(deps).compile(checkpointer=checkpointer, name="interec", **compile_kwargs)
