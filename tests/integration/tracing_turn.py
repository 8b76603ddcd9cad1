"""One turn through the library (`graph.agent.make_agent(...).ask`) with a scripted LLM, run as its own
process by the tracing tests: prints one JSON line with the reply and the wall clock when the turn ended."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from graph.agent import make_agent
from tests.fakes import ScriptedLLM

PLAN = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]},
                  {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
MESSAGE = "a comedy please, my secret word is marmalade"


def main(domain: str, artifacts: str, memory: str) -> None:
    agent = make_agent(domain, ScriptedLLM(plans=[PLAN]), artifacts=artifacts, memory_path=Path(memory))
    agent.deps.code_plans = False  # the scripted plan, so every turn has the same steps
    agent.deps.use_models = False
    state = agent.ask(MESSAGE, "lib-thread", "lib-user")
    print(json.dumps({"reply": state["messages"][-1].content, "items": state.get("items", []),
                      "done_at": time.time()}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
