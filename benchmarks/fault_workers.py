"""Two server workers share one checkpointer; the same thread is hit on both at once (stub LLM).

  python benchmarks/fault_workers.py [--rounds 30] [--burst 4] [--llm-ms 100] [--out FILE]

Two uvicorn processes serve the real app over one memory folder (one SQLite checkpoint file, one
embedded Chroma profile store). Each round sends `--burst` turns of one thread at the same moment, split
over both workers and over /chat and /chat/stream. Every request must get its answer (200) or a clear
409; never a 5xx. Afterwards the thread's history must alternate user/answer, hold exactly the answered
turns with the very replies the clients got, and the checkpoint file must pass `PRAGMA integrity_check`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load_test import StubLLM  # noqa: E402
from benchmarks.stub_server import start_uvicorn, stub_app  # noqa: E402
from graph.nodes.memory_nodes import KEEP_MESSAGES  # noqa: E402

KEY = {"X-API-Key": "work-key-0"}
THREAD = "shared"


def workers_app() -> Any:
    """The app under test (uvicorn --factory target), configured by WORK_* variables."""
    return stub_app(StubLLM(latency_s=float(os.environ.get("WORK_LLM_MS", "100")) / 1000), "WORK", 1)


def _final(raw: str) -> dict[str, Any] | None:
    for block in raw.split("\n\n"):
        if block.startswith("event: final"):
            return json.loads(block.split("data: ", 1)[1])
    return None


async def _one(client: Any, url: str, text: str, stream: bool) -> dict[str, Any]:
    rec: dict[str, Any] = {"text": text, "url": url, "stream": stream}
    try:
        r = await client.post(f"{url}/chat/stream" if stream else f"{url}/chat",
                              json={"message": text, "thread_id": THREAD}, headers=KEY)
    except Exception as e:  # noqa: BLE001 - counted
        rec.update(status=None, error=type(e).__name__)
        return rec
    rec["status"] = r.status_code
    if r.status_code == 200:
        body = _final(r.text) if stream else r.json()
        rec["reply"] = body["reply"] if body else None
    elif r.status_code == 409:
        rec["detail"] = r.json().get("detail")
    return rec


async def _rounds(urls: list[str], rounds: int, burst: int) -> list[dict[str, Any]]:
    import httpx

    out: list[dict[str, Any]] = []
    rng = random.Random(0)
    async with httpx.AsyncClient(timeout=120) as client:
        for r in range(rounds):
            order = list(range(burst))
            rng.shuffle(order)  # which worker (and which route) is first differs from round to round
            jobs = [_one(client, urls[i % 2], f"a comedy please [round {r} req {i}]", stream=(i // 2) % 2 == 1)
                    for i in order]
            out += await asyncio.gather(*jobs)
        hist = (await client.get(f"{urls[0]}/threads/{THREAD}", headers=KEY)).json()
        hist2 = (await client.get(f"{urls[1]}/threads/{THREAD}", headers=KEY)).json()
    out.append({"history": hist, "history_other_worker": hist2})
    return out


def run(rounds: int, burst: int, llm_ms: float, domain: str) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interec-workers-") as mem:
        env = {**os.environ, "WORK_DOMAIN": domain, "WORK_MEMORY": mem, "WORK_LLM_MS": str(llm_ms), "WORK_USERS": "1",
               "LANGSMITH_TRACING": "false", "INTEREC_WARMUP": "false", "HF_HUB_OFFLINE": "1"}
        procs = []
        try:
            for _ in range(2):  # one after the other: the second opens the same checkpoint and Chroma files
                procs.append(start_uvicorn("benchmarks.fault_workers:workers_app", env))
            log = asyncio.run(_rounds([u for _, u in procs], rounds, burst))
        finally:
            for p, _ in procs:
                p.terminate()
                p.wait(timeout=30)
        conn = sqlite3.connect(f"file:{Path(mem) / 'threads.sqlite'}?mode=ro", uri=True)
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        conn.close()
    tail = log.pop()
    hist = tail["history"]["messages"]
    roles = [m["role"] for m in hist]
    answered = [r for r in log if r["status"] == 200]
    pairs = [(hist[i]["text"], hist[i + 1]["text"]) for i in range(0, len(hist) - 1, 2)]
    expected = {(r["text"], r["reply"]) for r in answered}
    # the checkpoint keeps the last KEEP_MESSAGES messages by design: the oldest answered turns may be gone,
    # but what is held must be exactly the latest answered turns, with the replies the clients got
    kept = min(len(answered), KEEP_MESSAGES // 2)
    round_of = {r["text"]: int(r["text"].split("[round ")[1].split()[0]) for r in answered}
    held_rounds = [round_of.get(u, -1) for u, _ in pairs]
    gone_rounds = [round_of[r["text"]] for r in answered if (r["text"], r["reply"]) not in set(pairs)]
    res = {"rounds": rounds, "burst": burst, "requests": len(log), "answered_200": len(answered),
           "refused_409": sum(r["status"] == 409 for r in log),
           "status_5xx": sum((r["status"] or 0) >= 500 for r in log),
           "other": sum(r["status"] not in (200, 409) for r in log),
           "409_with_clear_message": sum(r["status"] == 409 and "still answering" in (r.get("detail") or "") for r in log),
           "answered_on_worker": [sum(r["status"] == 200 and r["url"] == u for r in log) for u in sorted({r["url"] for r in log})],
           "history_alternates": roles == ["user", "assistant"] * (len(roles) // 2),
           "history_turns": len(pairs), "answered_turns_trimmed_by_design": len(answered) - len(pairs),
           "history_matches_answers": set(pairs) <= expected and len(pairs) == kept
           and (not gone_rounds or max(gone_rounds) <= min(held_rounds)),
           "workers_agree": tail["history"]["messages"] == tail["history_other_worker"]["messages"],
           "integrity_check": integrity, "llm_ms": llm_ms, "wall_s": round(time.perf_counter() - started, 1),
           "load_average": [round(x, 2) for x in os.getloadavg()],
           "samples": [r for r in log if r["status"] not in (200, 409)][:5]}
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--burst", type=int, default=4, help="simultaneous requests per round (over both workers)")
    ap.add_argument("--llm-ms", type=float, default=100.0)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    res = run(args.rounds, args.burst, args.llm_ms, args.domain)
    print(f"two workers, one checkpointer, one thread: {args.rounds} rounds x {args.burst} simultaneous requests")
    for k, v in res.items():
        if k != "samples":
            print(f"  {k:28s} {v}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    ok = (res["status_5xx"] == 0 and res["other"] == 0 and res["history_alternates"] and res["history_matches_answers"]
          and res["integrity_check"] == "ok" and res["409_with_clear_message"] == res["refused_409"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
