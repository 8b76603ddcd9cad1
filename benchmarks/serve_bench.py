"""Serving overhead: 50 concurrent conversations x 5 turns through /chat/stream with a stub LLM.

  python benchmarks/serve_bench.py [--conversations 50] [--turns 5] [--llm-ms 0] [--transport uvicorn|asgi]
                                   [--domain data/movielens] [--out FILE]

The stub LLM answers instantly (or after --llm-ms per call), so what is measured is the agent's own
work per turn: HTTP + auth + checkpointer (SQLite) + graph + tools + grounding + SSE. Reported:
requests/s, end-to-end latency, "overhead" = latency minus the time spent inside LLM calls, the
server's CPU per turn, and a solo pass (one conversation at a time) for the unloaded overhead.
Target: solo overhead p95 < 100 ms per turn, zero errors. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402

from benchmarks.stub_server import pcts, start_uvicorn, stub_app  # noqa: E402

RANK = {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}
# (user message, plan the stub returns); conditions carry over between turns, as in real use.
SCRIPT: list[tuple[str, dict[str, Any]]] = [
    ("I want a comedy", {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": "Comedy"}]}, RANK]}),
    ("from the 90s please", {"steps": [RANK]}),
    ("I loved Toy Story, something similar", {"like": ["Toy Story"], "steps": [
        {"tool": "similar", "titles": ["Toy Story"]}, {"tool": "rank", "by": "preference", "prefer": ["Toy Story"], "avoid": []}]}),
    ("how many horror movies are there?", {"steps": [{"tool": "sql", "query": "SELECT count(*) AS n FROM items WHERE genres LIKE '%Horror%'"}]}),
    ("thanks!", {"reply": "You're welcome!", "steps": [], "chit_chat": "thanks"}),
]
PLANS = {text: plan for text, plan in SCRIPT}
LLM_SECONDS: dict[str, float] = {}  # thread id -> time spent inside the stub (server process)
_lock = threading.Lock()


class StubLLM(BaseChatModel):
    """Plans by the user's message; replies list the items it is shown. Optional fixed latency per call."""

    latency_s: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "bench-stub"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        from langchain_core.runnables.config import var_child_runnable_config

        started = time.perf_counter()
        prompt = str(messages[-1].content)
        if str(messages[0].content).startswith("You plan"):
            user = prompt.rsplit("User:", 1)[-1] if "User:" in prompt else prompt
            plan = next((p for t, p in PLANS.items() if t in user), {"reply": "Hello!", "steps": []})
            text = json.dumps(plan)
        else:
            block = prompt.split("Items:\n", 1)[1].split("\n\nFacts:", 1)[0] if "Items:\n" in prompt else ""
            titles = [re.sub(r"^\d+\.\s+", "", ln).rsplit(" (", 1)[0] for ln in block.splitlines() if re.match(r"^\d+\.", ln)]
            text = "\n".join(f"{i}. {t} - a good fit." for i, t in enumerate(titles, 1)) or "Here is what I found."
        if self.latency_s:
            time.sleep(self.latency_s)
        cfg = var_child_runnable_config.get() or {}
        thread = str((cfg.get("configurable") or {}).get("thread_id", ""))
        with _lock:
            LLM_SECONDS[thread] = LLM_SECONDS.get(thread, 0.0) + time.perf_counter() - started
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


def bench_app() -> Any:
    """The app under test (uvicorn --factory target); configured by BENCH_* variables."""
    app = stub_app(StubLLM(latency_s=float(os.environ.get("BENCH_LLM_MS", "0")) / 1000), "BENCH", 50)

    @app.get("/bench/stats", include_in_schema=False)
    async def stats() -> dict[str, Any]:  # LLM time per thread and server CPU, for the client
        return {"llm_seconds": dict(LLM_SECONDS), "cpu_s": time.process_time()}

    return app


async def _turn(client: Any, key: str, thread: str, text: str) -> tuple[float, float, bool]:
    started = time.perf_counter()
    first = None
    ok = False
    async with client.stream("POST", "/chat/stream", json={"message": text, "thread_id": thread},
                             headers={"X-API-Key": key}) as r:
        async for chunk in r.aiter_text():
            first = first or time.perf_counter()
            ok = ok or "event: final" in chunk
        ok = ok and r.status_code == 200
    return time.perf_counter() - started, (first or time.perf_counter()) - started, ok


async def _conversation(client: Any, n: int, turns: int, tag: str, out: list[dict[str, Any]]) -> None:
    key, thread = f"bench-key-{n % 50}", f"{tag}-{n}"
    for t in range(turns):
        text = SCRIPT[t % len(SCRIPT)][0]
        try:
            latency, ttfb, ok = await _turn(client, key, thread, text)
        except Exception as e:  # noqa: BLE001 - counted as an error, the run goes on
            latency, ttfb, ok = float("nan"), float("nan"), False
            print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        out.append({"thread": f"user{n % 50}/{thread}", "turn": t, "latency": latency, "ttfb": ttfb, "ok": ok})


async def _phase(client: Any, conversations: int, turns: int, concurrent: bool, tag: str) -> dict[str, Any]:
    before = (await client.get("/bench/stats")).json()
    out: list[dict[str, Any]] = []
    started = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(_conversation(client, n, turns, tag, out) for n in range(conversations)))
    else:
        for n in range(conversations):
            await _conversation(client, n, turns, tag, out)
    wall = time.perf_counter() - started
    after = (await client.get("/bench/stats")).json()
    # LLM time per turn: turns of one conversation run in order, so split the thread's total evenly by share
    llm_total = {t: after["llm_seconds"].get(t, 0.0) - before["llm_seconds"].get(t, 0.0) for t in after["llm_seconds"]}
    per_thread = {}
    for r in out:
        per_thread.setdefault(r["thread"], []).append(r)
    overheads, by_turn = [], {}
    for thread, rs in per_thread.items():
        share = llm_total.get(thread, 0.0) / len(rs)
        overheads += [r["latency"] - share for r in rs if r["ok"]]
        for r in rs:
            if r["ok"]:
                by_turn.setdefault(SCRIPT[r["turn"] % len(SCRIPT)][0], []).append(r["latency"] - share)
    lat = sorted(r["latency"] for r in out if r["ok"])
    return {"turns": len(out), "errors": sum(not r["ok"] for r in out), "wall_s": round(wall, 2),
            "requests_per_s": round(len(out) / wall, 1),
            "latency_ms": pcts(lat), "ttfb_ms": pcts(sorted(r["ttfb"] for r in out if r["ok"])),
            "overhead_ms": pcts(sorted(overheads)),
            "overhead_ms_by_turn": {text: pcts(sorted(v)) for text, v in by_turn.items()},
            "server_cpu_ms_per_turn": round(1000 * (after["cpu_s"] - before["cpu_s"]) / max(1, len(out)), 1)}


async def _run(base_url: str | None, app: Any, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=args.conversations + 5, max_keepalive_connections=args.conversations + 5)
    if app is not None:
        ctx: Any = app.router.lifespan_context(app)
        await ctx.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=300)
    else:
        ctx, client = None, httpx.AsyncClient(base_url=base_url or "", timeout=300, limits=limits)
    try:
        await _phase(client, 2, len(SCRIPT), False, "warm")  # loads vectors, embedder, caches
        solo = await _phase(client, args.solo, args.turns, False, "solo")
        conc = await _phase(client, args.conversations, args.turns, True, "conc")
    finally:
        await client.aclose()
        if ctx is not None:
            await ctx.__aexit__(None, None, None)
    return {"solo": solo, "concurrent": conc}


def _start_uvicorn(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    return start_uvicorn("benchmarks.serve_bench:bench_app", env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--solo", type=int, default=10, help="conversations run one at a time first (unloaded overhead)")
    ap.add_argument("--llm-ms", type=float, default=0.0, help="stub LLM latency per call")
    ap.add_argument("--transport", choices=["uvicorn", "asgi"], default="uvicorn")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as mem:
        env = {**os.environ, "BENCH_DOMAIN": args.domain, "BENCH_MEMORY": mem, "BENCH_LLM_MS": str(args.llm_ms),
               "LANGSMITH_TRACING": "false"}
        if args.transport == "asgi":
            os.environ.update(env)
            res = asyncio.run(_run(None, bench_app(), args))
        else:
            proc, url = _start_uvicorn(env)
            try:
                res = asyncio.run(_run(url, None, args))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    res["config"] = {"conversations": args.conversations, "turns": args.turns, "solo_conversations": args.solo,
                     "llm_ms": args.llm_ms, "transport": args.transport, "cpus": os.cpu_count(),
                     "checkpointer": "sqlite (AsyncSqliteSaver)", "auth": "API keys (50 users)",
                     "load_average": os.getloadavg()}
    print(f"{'phase':11s} {'turns':>5s} {'err':>4s} {'req/s':>6s} {'lat p50':>8s} {'lat p95':>8s} {'ovh p50':>8s} "
          f"{'ovh p95':>8s} {'ttfb p95':>8s} {'cpu/turn':>8s}")
    for name in ("solo", "concurrent"):
        r = res[name]
        print(f"{name:11s} {r['turns']:5d} {r['errors']:4d} {r['requests_per_s']:6.1f} {r['latency_ms']['p50']:8.1f} "
              f"{r['latency_ms']['p95']:8.1f} {r['overhead_ms']['p50']:8.1f} {r['overhead_ms']['p95']:8.1f} "
              f"{r['ttfb_ms']['p95']:8.1f} {r['server_cpu_ms_per_turn']:8.1f}")
    print("solo overhead by turn (ms):")
    for text, p in res["solo"]["overhead_ms_by_turn"].items():
        print(f"  {text:40s} p50 {p['p50']:7.1f}  p95 {p['p95']:7.1f}")
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
