"""Load test: N concurrent conversations x T turns against the real server (uvicorn on 127.0.0.1), stub LLM.

  python benchmarks/load_test.py [--conversations 100] [--turns 10] [--deadline 900] [--llm-ms 0]
                                 [--domain data/movielens] [--out FILE]

Every conversation is its own user (API key) and carries a unique marker "[ref cNNN]" in each message
and a unique liked title in its first one. The stub LLM writes into each reply the markers it finds in
the prompt it was given (the request plus the thread's history), so a reply built from another thread's
context is caught. After the run each thread's history must hold exactly its own messages, in order,
and each user's profile exactly its own liked title. Reported: turns, 5xx, other errors, cross-talk,
p50/p95 latency, server peak RSS; the run is bounded by --deadline (unfinished turns count as errors).
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

MARK = re.compile(r"\[ref (c\d{3,})\]")
RANK = {"tool": "rank", "by": "popularity", "prefer": [], "avoid": []}
TURNS = ["I loved {title}, something similar please", "a comedy please", "from the 90s please",
         "how many horror movies are there?", "something completely different: a drama", "released after 2000",
         "any animation?", "the most popular ones", "thanks!", "one more comedy please"]


def _plan(request: str) -> dict[str, Any]:
    """The stub planner: a plan by keywords of the request (the server's own code may plan instead)."""
    loved = re.search(r"I loved (.+?), something similar", request)
    if loved:
        t = loved.group(1)
        return {"like": [t], "steps": [{"tool": "similar", "titles": [t]},
                                       {"tool": "rank", "by": "preference", "prefer": [t], "avoid": []}]}
    for word, genre in (("comedy", "Comedy"), ("drama", "Drama"), ("animation", "Animation")):
        if word in request:
            return {"steps": [{"tool": "filter", "where": [{"col": "genres", "op": "contains", "val": genre}]}, RANK]}
    if "horror" in request:
        return {"steps": [{"tool": "sql", "query": "SELECT count(*) AS n FROM items WHERE genres LIKE '%Horror%'"}]}
    if "thanks" in request:
        return {"reply": "You're welcome!", "steps": []}
    return {"steps": [RANK]}


class StubLLM(BaseChatModel):
    """Plans by keywords; replies list the items shown and name the conversation markers in the prompt."""

    latency_s: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "load-stub"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        prompt = str(messages[-1].content)
        if str(messages[0].content).startswith("You plan"):
            request = prompt.rsplit("Request: ", 1)[-1]
            text = json.dumps(_plan(request))
        else:
            block = prompt.split("Items:\n", 1)[1].split("\n\nFacts:", 1)[0] if "Items:\n" in prompt else ""
            titles = [re.sub(r"^\d+\.\s+", "", ln).rsplit(" (", 1)[0] for ln in block.splitlines() if re.match(r"^\d+\.", ln)]
            lines = [f"{i}. {t} - a good fit." for i, t in enumerate(titles, 1)] or ["Here is what I found."]
            text = "\n".join(lines) + f"\n(context: {' '.join(f'[ref {m}]' for m in sorted(set(MARK.findall(prompt))))})"
        if self.latency_s:
            time.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


def load_app() -> Any:
    """The app under test (uvicorn --factory target), configured by LOAD_* variables."""
    return stub_app(StubLLM(latency_s=float(os.environ.get("LOAD_LLM_MS", "0")) / 1000), "LOAD", 100)


def pick_titles(domain_path: str, n: int) -> list[str]:
    """n popular, distinct, plain titles (no commas), one liked title per conversation."""
    from models.build import load_domain

    d = load_domain(domain_path)
    items = d.items.sort_values("popularity", ascending=False)
    out: list[str] = []
    for title in items["title"]:
        base = str(title).rsplit(" (", 1)[0]
        if "," not in base and "(" not in base and base.isascii() and base not in out and len(base) > 3:
            out.append(base)
        if len(out) == n:
            return out
    raise SystemExit(f"the catalog has fewer than {n} plain titles")


def _final(raw: str) -> dict[str, Any] | None:
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        if block.startswith("event: final"):
            return json.loads(block.split("data: ", 1)[1])
    return None


async def _conversation(client: Any, n: int, turns: int, title: str, out: list[dict[str, Any]]) -> None:
    key, thread, marker = f"load-key-{n}", f"conv-{n}", f"c{n:03d}"
    for t in range(turns):
        text = TURNS[t % len(TURNS)].format(title=title) + f" [ref {marker}]"
        rec: dict[str, Any] = {"conv": n, "turn": t, "status": None, "latency": None, "ok": False, "crosstalk": False}
        started = time.perf_counter()
        try:
            r = await client.post("/chat/stream", json={"message": text, "thread_id": thread}, headers={"X-API-Key": key})
            rec["status"] = r.status_code
            final = _final(r.text) if r.status_code == 200 else None
            rec["latency"] = time.perf_counter() - started
            if final is not None:
                rec["ok"] = True
                seen = set(MARK.findall(final["reply"]))
                rec["crosstalk"] = bool(seen - {marker}) or final.get("thread_id") != thread
                rec["marked"] = bool(seen)
            else:
                rec["error"] = r.text[-200:]
        except Exception as e:  # noqa: BLE001 - counted, the run goes on
            rec["error"] = f"{type(e).__name__}: {e}"[:200]
        out.append(rec)


async def _verify(client: Any, conversations: int, turns: int, titles: list[str]) -> dict[str, int]:
    """Each thread holds exactly its own messages in order; each profile exactly its own liked title."""
    bad_history = bad_profile = 0
    for n in range(conversations):
        key, marker = {"X-API-Key": f"load-key-{n}"}, f"c{n:03d}"
        expect = [TURNS[t % len(TURNS)].format(title=titles[n]) + f" [ref {marker}]" for t in range(turns)]
        hist = (await client.get(f"/threads/conv-{n}", headers=key)).json()
        users = [m["text"] for m in hist.get("messages", []) if m["role"] == "user"]
        replies = [m["text"] for m in hist.get("messages", []) if m["role"] == "assistant"]
        if users != expect or len(replies) != turns or any(set(MARK.findall(r)) - {marker} for r in replies):
            bad_history += 1
        like = (await client.get("/profile", headers=key)).json().get("like", [])
        if [x.rsplit(" (", 1)[0] for x in like] != [titles[n]]:
            bad_profile += 1
    return {"threads_with_foreign_or_missing_messages": bad_history, "profiles_not_exactly_own": bad_profile}


class RssSampler(threading.Thread):
    """Peak resident memory of the server process (and its children), sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        import psutil

        proc = psutil.Process(self.pid)
        while not self.stop.is_set():
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                self.peak = max(self.peak, rss)
            except psutil.Error:
                return
            self.stop.wait(0.1)


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    return start_uvicorn("benchmarks.load_test:load_app", env, ("--timeout-keep-alive", "30"))


async def _run(url: str, args: argparse.Namespace, titles: list[str]) -> dict[str, Any]:
    import httpx

    # idle connections are dropped by the client (4 s) well before the server closes them (30 s): with both
    # at httpx's and uvicorn's default 5 s, a reused connection can be closed under a request (ReadError)
    limits = httpx.Limits(max_connections=args.conversations + 5, max_keepalive_connections=args.conversations + 5,
                          keepalive_expiry=4.0)
    out: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=args.request_timeout, limits=limits) as client:
        started = time.perf_counter()
        tasks = [asyncio.create_task(_conversation(client, n, args.turns, titles[n], out))
                 for n in range(args.conversations)]
        done, pending = await asyncio.wait(tasks, timeout=args.deadline)
        for t in pending:
            t.cancel()
        wall = time.perf_counter() - started
        checks = await _verify(client, args.conversations, args.turns, titles)
    expected = args.conversations * args.turns
    lat = [r["latency"] for r in out if r["ok"]]
    return {"turns_expected": expected, "turns_done": len(out), "ok": sum(r["ok"] for r in out),
            "status_5xx": sum(1 for r in out if (r["status"] or 0) >= 500),
            "errors": expected - sum(r["ok"] for r in out), "crosstalk_replies": sum(r["crosstalk"] for r in out),
            "replies_with_marker": sum(bool(r.get("marked")) for r in out), "within_deadline": not pending,
            "wall_s": round(wall, 2), "turns_per_s": round(len(out) / wall, 1), "latency_ms": pcts(lat), **checks,
            "error_samples": [r["error"] for r in out if r.get("error")][:5]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--conversations", type=int, default=100)
    ap.add_argument("--turns", type=int, default=10)
    ap.add_argument("--deadline", type=float, default=900.0, help="seconds for all conversations together")
    ap.add_argument("--request-timeout", type=float, default=300.0)
    ap.add_argument("--llm-ms", type=float, default=0.0, help="stub LLM latency per call")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.conversations > 999 or args.conversations < 1 or args.turns < 1:
        raise SystemExit("--conversations must be 1..999 and --turns at least 1")
    titles = pick_titles(args.domain, args.conversations)
    with tempfile.TemporaryDirectory() as mem:
        env = {**os.environ, "LOAD_DOMAIN": args.domain, "LOAD_MEMORY": mem, "LOAD_LLM_MS": str(args.llm_ms),
               "LOAD_USERS": str(args.conversations), "LANGSMITH_TRACING": "false", "INTEREC_WARMUP": "true"}
        proc, url = _start_server(env)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            res = asyncio.run(_run(url, args, titles))
        finally:
            sampler.stop.set()
            proc.terminate()
            proc.wait(timeout=30)
    res["server_peak_rss_mb"] = round(sampler.peak / 2**20, 1)
    res["config"] = {"conversations": args.conversations, "turns": args.turns, "deadline_s": args.deadline,
                     "llm_ms": args.llm_ms, "cpus": os.cpu_count(), "route": "/chat/stream (SSE)",
                     "checkpointer": "sqlite (AsyncSqliteSaver)", "auth": f"API keys ({args.conversations} users)",
                     "load_average": [round(x, 2) for x in os.getloadavg()]}
    keys = [("turns", f"{res['ok']}/{res['turns_expected']}"), ("5xx", res["status_5xx"]), ("errors", res["errors"]),
            ("cross-talk replies", res["crosstalk_replies"]), ("replies carrying a marker", res["replies_with_marker"]),
            ("threads with foreign/missing msgs", res["threads_with_foreign_or_missing_messages"]),
            ("profiles not exactly own", res["profiles_not_exactly_own"]), ("within deadline", res["within_deadline"]),
            ("wall s", res["wall_s"]), ("turns/s", res["turns_per_s"]),
            ("latency p50 ms", res["latency_ms"].get("p50")), ("latency p95 ms", res["latency_ms"].get("p95")),
            ("server peak RSS MB", res["server_peak_rss_mb"])]
    print(f"load test: {args.conversations} conversations x {args.turns} turns, stub LLM {args.llm_ms:g} ms")
    for k, v in keys:
        print(f"  {k:36s} {v}")
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    ok = (res["errors"] == 0 and res["status_5xx"] == 0 and res["crosstalk_replies"] == 0
          and res["threads_with_foreign_or_missing_messages"] == 0 and res["profiles_not_exactly_own"] == 0)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
