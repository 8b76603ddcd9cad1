"""One turn through the library (`graph.agent.make_agent(...).ask`) with a scripted LLM, run as its own
process by the tracing tests and benchmarks/tracing_exit.py.

Prints one JSON line on stdout when the turn ends (reply, items, wall clock) and, as the very last thing
the interpreter runs, one on stderr: {"python_exit_s": ...}, the seconds from the end of the script to the
end of Python's shutdown (joining non-daemon threads, then every atexit handler, LangSmith's flush
included). What the process spends after that is native libraries unloading (torch), the same with
tracing on or off."""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path

MESSAGE = "a comedy please, my secret word is marmalade"
PLAN = {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]},
                  {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}]}
_END: dict[str, float] = {}


def _report() -> None:  # registered first, so it runs after every other atexit handler
    if "main" in _END:
        print(json.dumps({"python_exit_s": round(time.monotonic() - _END["main"], 3)}), file=sys.stderr, flush=True)


def main(domain: str, artifacts: str, memory: str) -> None:
    atexit.register(_report)
    from graph.agent import make_agent
    from tests.fakes import ScriptedLLM

    agent = make_agent(domain, ScriptedLLM(plans=[PLAN]), artifacts=artifacts, memory_path=Path(memory))
    agent.deps.code_plans = False  # the scripted plan, so every turn has the same steps
    agent.deps.use_models = False
    state = agent.ask(MESSAGE, "lib-thread", "lib-user")
    print(json.dumps({"reply": state["messages"][-1].content, "items": state.get("items", []),
                      "done_at": time.time()}), flush=True)
    _END["main"] = time.monotonic()


if __name__ == "__main__":
    main(*sys.argv[1:4])
