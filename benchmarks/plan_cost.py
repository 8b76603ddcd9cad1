"""Where the plan call's time goes, per catalog: prompt tokens (and how many the server's prefix cache reused),
generated tokens, seconds, and the size of the JSON schema the grammar is built from.

    python benchmarks/plan_cost.py --domain data/movielens --domain benchmarks/domains/lastfm --domain /tmp/store \
        [--requests 4] [--every-turn] [--out benchmarks/results/plan_cost.json]

The requests are the first user messages of benchmarks/conversations/<name>.jsonl (natural phrasings, never the
planner's demos). Needs the local model (run alone: `flock /tmp/interec-llm.lock ...`); prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.agent import make_deps  # noqa: E402
from graph.nodes.plan import plan_messages  # noqa: E402
from models.build import load_domain  # noqa: E402
from models.llm_factory import get_chat_model  # noqa: E402
from models.structured import CallCounter, json_schema_for, structured_call  # noqa: E402


def _requests(name: str, k: int, every_turn: bool = False) -> list[str]:
    path = ROOT / "benchmarks" / "conversations" / f"{name}.jsonl"
    out: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                conv = json.loads(line)
                turns = [str(t["text"]) for t in conv.get("turns", []) if t.get("kind") == "rec"]
                out += turns if every_turn else turns[:1]
    return out[:k] or ["something good for tonight, not too long"]


def measure(domain_path: str, k: int, every_turn: bool = False) -> dict[str, Any]:
    domain = load_domain(domain_path)
    started = time.perf_counter()
    deps = make_deps(domain, get_chat_model(), Path(tempfile.mkdtemp()), demos=True)
    if deps.warming is not None:  # the stable prefix is read once per process, in the background
        deps.warming.join()
    warm_s = round(time.perf_counter() - started, 1)
    schema_chars = len(json.dumps(json_schema_for(deps.plan_model)))
    rows = []
    for text in _requests(domain.name, k, every_turn):
        state: dict[str, Any] = {"messages": [], "demos": deps.demos.select(text, deps.n_demos) if deps.demos else []}
        msgs = plan_messages(deps, state, text)  # type: ignore[arg-type]
        counter = CallCounter()
        t = time.perf_counter()
        try:
            plan = structured_call(deps.llm, deps.plan_model, msgs, name="plan", config={"callbacks": [counter]})
            ok, raw = True, plan.model_dump_json(exclude_defaults=True)
        except Exception as e:  # noqa: BLE001 - a failed call is a row too
            ok, raw = False, ""
            print(f"  plan failed: {e}"[:200], file=sys.stderr)
        s = counter.snapshot()
        rows.append({"request": text, "ok": ok, "seconds": round(time.perf_counter() - t, 2),
                     "prompt_chars": sum(len(str(m.content)) for m in msgs),
                     "system_chars": len(str(msgs[0].content)), "prompt_tokens": s.get("prompt_tokens"),
                     "cached_tokens": s.get("cached_tokens"), "completion_tokens": s.get("completion_tokens"),
                     "plan": raw})
    secs = [r["seconds"] for r in rows]
    return {"domain": domain.name, "items": domain.n_items, "schema_chars": schema_chars, "warm_up_s": warm_s,
            "demo_mode": deps.demo_mode,
            "system_chars": rows[0]["system_chars"] if rows else 0, "p50_s": statistics.median(secs) if secs else None,
            "rows": rows, "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", action="append", required=True)
    ap.add_argument("--requests", type=int, default=4)
    ap.add_argument("--every-turn", action="store_true",
                    help="every recommendation turn of the conversations (each on its own), not only the first")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    results = [measure(d, args.requests, args.every_turn) for d in args.domain]
    print(f"{'domain':<10} {'items':>7} {'schema':>7} {'system':>7} {'prompt tok':>10} {'cached':>7} "
          f"{'gen tok':>7} {'s p50':>6} {'warm-up s':>9}  load")
    for r in results:
        pt = statistics.median([x["prompt_tokens"] or 0 for x in r["rows"]])
        ct = statistics.median([x["cached_tokens"] or 0 for x in r["rows"]])
        gt = statistics.median([x["completion_tokens"] or 0 for x in r["rows"]])
        print(f"{r['domain']:<10} {r['items']:>7} {r['schema_chars']:>7} {r['system_chars']:>7} {pt:>10} {ct:>7} "
              f"{gt:>7} {r['p50_s']:>6} {r['warm_up_s']:>9}  {r['load']:.1f}")
    text = json.dumps(results, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
