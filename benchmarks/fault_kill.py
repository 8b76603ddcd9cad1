"""SIGKILL a real server at random points across turns (stub LLM); nothing finished may be lost.

  python benchmarks/fault_kill.py [--kills 50] [--threads 3] [--llm-ms 150] [--seed 0] [--out FILE]

Each cycle starts uvicorn (the real app, SQLite checkpointer and embedded Chroma in one memory folder),
runs turns on a few threads at once, and `kill -9`s the server after a random delay. While it is down,
the checkpoint file must pass `PRAGMA integrity_check`. After the restart every turn that got its
answer must be in its thread's history, exactly; a cut-off turn whose message was saved must be
reported (`/threads` says interrupted, and the thread's next turn names it in `interrupted`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
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

KEY = {"X-API-Key": "kill-key-0"}
MESSAGES = ["a comedy please", "from the 90s please", "something different: a drama", "the most popular ones",
            "any animation?", "released after 2000"]


def kill_app() -> Any:
    """The app under test (uvicorn --factory target), configured by KILL_* variables."""
    return stub_app(StubLLM(latency_s=float(os.environ.get("KILL_LLM_MS", "150")) / 1000), "KILL", 1)


class ForkedServer:
    """A real uvicorn server in a child process forked from this warm one, so that a restart costs the
    app's start (domain, checkpointer, Chroma) and not the imports and the embedding model's load again.
    The child opens every file itself: nothing with an open handle crosses the fork."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:  # the server
            code = 1
            try:
                import uvicorn

                uvicorn.run(kill_app(), host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
                code = 0
            finally:
                os._exit(code)
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.poll() is not None:
                raise SystemExit("the forked server exited")
            try:
                if httpx.get(self.url + "/health", timeout=2).json().get("status") == "ok":
                    return
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)
        self.kill()
        raise SystemExit("the forked server did not start")

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return self.returncode

    def wait(self, timeout: float = 30) -> int | None:
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)

    def terminate(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)


def _os_threads() -> int:
    """Threads of this process as the kernel sees them (native pools included, which `threading` misses)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _preload() -> None:
    """Imports and the embedding model, loaded once before the first fork (no inference: no thread pools)."""
    import uvicorn  # noqa: F401

    from graph.agent import make_deps  # noqa: F401
    from models.embedder import get_embedder
    from serving.app import create_app  # noqa: F401

    _ = get_embedder().model


async def _thread_turns(client: Any, thread: str, cycle: int, log: list[dict[str, Any]]) -> None:
    for i in range(100):
        text = f"{MESSAGES[(cycle + i) % len(MESSAGES)]} [cycle {cycle} turn {i}]"
        rec: dict[str, Any] = {"thread": thread, "cycle": cycle, "text": text}
        log.append(rec)
        try:
            r = await client.post("/chat", json={"message": text, "thread_id": thread}, headers=KEY)
        except Exception as e:  # noqa: BLE001 - the server was killed under this request
            rec["outcome"] = "cut"
            rec["error"] = type(e).__name__
            return
        rec["status"] = r.status_code
        if r.status_code != 200:
            rec["outcome"] = "error"
            return
        body = r.json()
        rec.update(outcome="finished", reply=body["reply"], interrupted=body.get("interrupted"))


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


async def _cycle(url: str, proc: Any, threads: list[str], cycle: int, delay: float) -> list[dict[str, Any]]:
    import httpx

    log: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        tasks = [asyncio.create_task(_thread_turns(client, t, cycle, log)) for t in threads]
        await asyncio.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        await asyncio.gather(*tasks)
    return log


async def _history(url: str, thread: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        r = await client.get(f"/threads/{thread}", headers=KEY)
        return r.json() if r.status_code == 200 else {"messages": [], "interrupted": False}


def _verify(hist: dict[str, Any], turns: list[dict[str, Any]], counts: dict[str, int]) -> list[str]:
    """Checks one thread's history against what the clients saw; returns problems (empty when fine).

    The checkpoint keeps the last KEEP_MESSAGES messages by design (graph/nodes/memory_nodes.py), so a
    finished turn older than the oldest message still held is "trimmed", not lost; every later one must
    be there with the very reply the client got."""
    msgs = hist["messages"]
    problems = []
    pairs = {(msgs[i]["text"], msgs[i + 1]["text"]) for i in range(len(msgs) - 1)
             if msgs[i]["role"] == "user" and msgs[i + 1]["role"] == "assistant"}
    users = [m["text"] for m in msgs if m["role"] == "user"]
    held = set(users)
    first_held = next((n for n, t in enumerate(turns) if t["text"] in held), len(turns))
    for n, t in enumerate(turns):
        if t["outcome"] == "finished":
            counts["finished"] += 1
            if (t["text"], t["reply"]) in pairs:
                continue
            if n < first_held and len(msgs) >= KEEP_MESSAGES - 1:
                counts["finished_trimmed_by_design"] += 1
                continue
            counts["finished_lost"] += 1
            problems.append(f"finished turn lost: {t['text']}")
        elif t["outcome"] == "cut":
            counts["cut"] += 1
            answered = any(u == t["text"] for u, _ in pairs)
            if answered:
                counts["cut_but_answered_in_history"] += 1
            elif t["text"] in users:
                counts["cut_message_saved"] += 1
                if msgs and msgs[-1]["role"] == "user" and msgs[-1]["text"] == t["text"]:
                    if hist.get("interrupted") is True:
                        counts["cut_reported_by_threads"] += 1
                    else:
                        counts["cut_not_reported"] += 1
                        problems.append(f"cut turn not reported: {t['text']}")
            else:
                counts["cut_before_saved"] += 1
        else:
            counts["other_errors"] += 1
            problems.append(f"status {t.get('status')}: {t['text']}")
    return problems


def run(kills: int, n_threads: int, llm_ms: float, seed: int, domain: str, max_delay: float,
        fork: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    counts = {k: 0 for k in ("finished", "finished_lost", "cut", "cut_message_saved", "cut_reported_by_threads",
                             "cut_reported_next_turn", "cut_not_reported", "cut_before_saved",
                             "cut_but_answered_in_history", "other_errors", "integrity_failures",
                             "finished_trimmed_by_design")}
    problems: list[str] = []
    delays: list[float] = []
    threads = [f"k{i}" for i in range(n_threads)]
    pending_cut: dict[str, str] = {}  # thread -> its cut message, to be named by the thread's next turn
    last_log: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interec-kill-") as mem:
        env = {**os.environ, "KILL_DOMAIN": domain, "KILL_MEMORY": mem, "KILL_LLM_MS": str(llm_ms), "KILL_USERS": "1",
               "LANGSMITH_TRACING": "false", "INTEREC_WARMUP": "false", "HF_HUB_OFFLINE": "1"}
        db = Path(mem) / "threads.sqlite"
        if fork and _os_threads() > 1:
            # A fork copies only the calling thread; a lock another thread held (a BLAS or ONNX pool, a
            # logging handler) stays locked in the child forever. Only a single-threaded parent forks.
            print(f"this process runs {_os_threads()} threads: servers start as fresh processes", flush=True)
            fork = False
        if fork:
            os.environ.update(env)
            _preload()
        for cycle in range(kills + 1):
            if fork:
                proc: Any = ForkedServer()
                url = proc.url
            else:
                proc, url = start_uvicorn("benchmarks.fault_kill:kill_app", env)
            try:
                for th in threads:  # check the previous cycle's outcome on the restarted server
                    hist = asyncio.run(_history(url, th))
                    mine = [t for t in last_log if t["thread"] == th]
                    problems += _verify(hist, mine, counts)
                    cut = [t for t in mine if t["outcome"] == "cut"]
                    msgs = hist["messages"]
                    if cut and msgs and msgs[-1]["role"] == "user" and msgs[-1]["text"] == cut[0]["text"]:
                        pending_cut[th] = cut[0]["text"]
                if cycle == kills:
                    break
                delay = rng.uniform(0.05, max_delay)
                delays.append(round(delay, 3))
                last_log = asyncio.run(_cycle(url, proc, threads, cycle, delay))
                for th, cut_text in list(pending_cut.items()):
                    first = next((t for t in last_log if t["thread"] == th and t["outcome"] == "finished"), None)
                    if first is not None:
                        del pending_cut[th]
                        if first.get("interrupted") == cut_text:
                            counts["cut_reported_next_turn"] += 1
                        else:
                            counts["cut_not_reported"] += 1
                            problems.append(f"next turn did not name the cut message: {cut_text}")
                proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill() if cycle < kills else proc.terminate()
                    proc.wait(timeout=30)
            verdict = _integrity(db) if db.exists() else "ok"
            if verdict != "ok":
                counts["integrity_failures"] += 1
                problems.append(f"integrity_check after kill {cycle + 1}: {verdict}")
            print(f"kill {cycle + 1}/{kills} after {delays[-1]:.2f}s: {sum(t['outcome'] == 'finished' for t in last_log)} "
                  f"finished, {sum(t['outcome'] == 'cut' for t in last_log)} cut; integrity {verdict}", flush=True)
    return {"kills": kills, "threads": n_threads, "server": "forked from a warm parent" if fork else "fresh process", "llm_ms": llm_ms, "seed": seed, **counts,
            "integrity_checks": kills, "kill_delay_s": {"min": min(delays), "max": max(delays)},
            "wall_s": round(time.perf_counter() - started, 1), "load_average": [round(x, 2) for x in os.getloadavg()],
            "problems": problems[:20]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--llm-ms", type=float, default=150.0, help="stub LLM latency per call")
    ap.add_argument("--max-delay", type=float, default=3.0, help="kill after a uniform random 0.05..this seconds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--no-fork", action="store_true", help="start each server as a fresh `python -m uvicorn`")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.kills < 1:
        raise SystemExit("--kills must be at least 1")
    res = run(args.kills, args.threads, args.llm_ms, args.seed, args.domain, args.max_delay, fork=not args.no_fork)
    print(json.dumps({k: v for k, v in res.items() if k != "problems"}, indent=1))
    for p in res["problems"]:
        print("PROBLEM:", p)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    ok = res["finished_lost"] == 0 and res["cut_not_reported"] == 0 and res["integrity_failures"] == 0 \
        and res["other_errors"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
