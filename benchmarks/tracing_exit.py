"""What LangSmith tracing costs a one-turn library process, with the collector up, refusing, or hanging.

  python benchmarks/tracing_exit.py [--repeat 2] [--code PATH] [--domain data/movielens] [--out FILE]

Each run is its own process (tests/integration/tracing_turn.py: make_agent + one scripted turn, no LLM),
so the numbers include the interpreter's exit. Reported per collector state: the process's wall time,
Python's shutdown after the script (thread joins + atexit handlers: what tracing can add), the seconds
from the end of the turn to the process's exit (that plus native libraries unloading), the LangSmith lines on stderr, and whether
any key material was printed. `--code` runs another checkout's library (e.g. the commit before the
bounded client) with this script's turn, for a before/after. Target (issue 18): with the collector down
the turn completes and Python's shutdown takes under 3 s; no dump, no key. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.fake_langsmith import FakeLangSmith  # noqa: E402

KEY = "lsv2_pt_0123456789abcdefDUMMYKEY_4242"
STATES = ("off", "up", "refused", "hanging")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hanging() -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conns.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def run_once(state: str, code: Path, domain: str, artifacts: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    env.update(PYTHONPATH=str(code), HF_HUB_OFFLINE="1", INTEREC_ARTIFACTS=artifacts, LANGSMITH_TRACING="false")
    fake = hang = None
    if state != "off":
        if state == "up":
            fake = FakeLangSmith().__enter__()
            endpoint = fake.url
        elif state == "hanging":
            hang, endpoint = _hanging()
        else:
            endpoint = f"http://127.0.0.1:{_free_port()}"
        env.update(LANGSMITH_TRACING="true", LANGSMITH_ENDPOINT=endpoint, LANGSMITH_API_KEY=KEY)
    with tempfile.TemporaryDirectory() as mem:
        started = time.time()
        proc = subprocess.run([sys.executable, str(ROOT / "tests" / "integration" / "tracing_turn.py"), domain,
                               artifacts, mem], cwd=code, env=env, capture_output=True, text=True, timeout=600)
        ended = time.time()
    runs = len(fake.runs) if fake else 0
    if fake:
        fake.__exit__()
    if hang:
        hang.close()
    if proc.returncode != 0:
        return {"state": state, "error": proc.stderr[-500:]}
    line = json.loads(proc.stdout.strip().splitlines()[-1])
    err = proc.stderr
    shutdown = json.loads(err.strip().splitlines()[-1])["python_exit_s"]
    notes = [ln for ln in err.splitlines() if "langsmith" in ln.lower() or "API Key" in ln]
    return {"state": state, "wall_s": round(ended - started, 2), "python_shutdown_s": shutdown,
            "exit_after_turn_s": round(ended - line["done_at"], 2),
            "turn_ok": bool(line["items"]), "runs_posted": runs,
            "langsmith_lines": len(notes), "langsmith_text": [ln[:300] for ln in notes[:6]],
            "key_printed": KEY in err or KEY[:5] in err or "API Key" in err}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--code", default=str(ROOT), help="checkout whose library runs the turn (default: this one)")
    ap.add_argument("--domain", default=str(ROOT / "data" / "movielens"))
    ap.add_argument("--artifacts", default=os.environ.get("INTEREC_ARTIFACTS") or "")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not args.artifacts:
        ap.error("--artifacts (or INTEREC_ARTIFACTS): where the domain is built")
    rows = [run_once(s, Path(args.code), args.domain, args.artifacts) for _ in range(args.repeat) for s in STATES]
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["state"], []).append(r)
    summary = {}
    print(f"code: {args.code}   load average: {os.getloadavg()[0]:.1f}")
    print(f"{'collector':10} {'wall s':>8} {'py shutdown s':>14} {'exit after turn s':>18} {'runs':>5} "
          f"{'ls lines':>8} {'key':>4}")
    for state, rs in by.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            print(f"{state:10} error: {rs[0]['error']}")
            continue
        med = {k: statistics.median(r[k] for r in ok) for k in ("wall_s", "python_shutdown_s", "exit_after_turn_s")}
        summary[state] = {**med, "runs_posted": max(r["runs_posted"] for r in ok),
                          "langsmith_lines": max(r["langsmith_lines"] for r in ok),
                          "key_printed": any(r["key_printed"] for r in ok), "turn_ok": all(r["turn_ok"] for r in ok)}
        s = summary[state]
        print(f"{state:10} {s['wall_s']:8.2f} {s['python_shutdown_s']:14.2f} {s['exit_after_turn_s']:18.2f} "
              f"{s['runs_posted']:5d} "
              f"{s['langsmith_lines']:8d} {'yes' if s['key_printed'] else 'no':>4}")
    if "off" in summary:
        for state in ("refused", "hanging"):
            if state in summary:
                summary[state]["added_exit_s"] = round(summary[state]["exit_after_turn_s"]
                                                       - summary["off"]["exit_after_turn_s"], 2)
    res = {"code": args.code, "repeat": args.repeat, "loadavg": os.getloadavg()[0], "summary": summary, "runs": rows}
    print(json.dumps({k: v for k, v in res.items() if k != "runs"}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
