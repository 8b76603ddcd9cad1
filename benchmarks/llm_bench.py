"""Local LLM benchmark: N short structured calls that share one stable system prompt.

Reports load time, p50/p95 latency per call, prompt tokens actually processed (the server's prefix cache
reuses the stable system prompt after the first call) and generation tokens/s from llama.cpp's own
counters. Prints a table and JSON (also written to --out). Run with nothing else busy on the CPU:
llama.cpp slows down many-fold when another job competes for the cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.llm import LLMSettings  # noqa: E402
from models.llm_factory import get_chat_model  # noqa: E402
from models.local_llm import local_server_info, local_server_metrics, shutdown_local_server  # noqa: E402
from models.structured import CallCounter, StrictModel, structured_call  # noqa: E402

SYSTEM = (
    "You route requests for a movie recommender. For each user message decide the intent: "
    "'recommend' when they want suggestions, 'fact' when they ask about a specific movie, "
    "'chat' for greetings and small talk. Give up to 2 genres from the user's words, and nothing else.\n"
    'Example: "any good horror films?" -> {"intent": "recommend", "genres": ["Horror"]}'
)
REQUESTS = [
    "recommend three comedies from the 90s",
    "what year did The Matrix come out?",
    "hi there!",
    "a sci-fi movie but no horror",
    "I loved Toy Story, something similar please",
    "who directed Jaws?",
    "thanks, that's all",
    "a romantic comedy for tonight",
    "any animated films for kids?",
    "good morning",
]


class Intent(StrEnum):
    recommend = "recommend"
    fact = "fact"
    chat = "chat"


class Route(StrictModel):
    """A routing decision."""

    intent: Intent
    genres: list[str] = Field(default_factory=list, max_length=2)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(n: int, settings: LLMSettings) -> dict[str, Any]:
    start = time.perf_counter()
    llm = get_chat_model(settings)
    load_s = time.perf_counter() - start
    before = local_server_metrics()
    counter = CallCounter()
    intents = []
    for i in range(n):
        route = structured_call(llm, Route, [("system", SYSTEM), ("user", REQUESTS[i % len(REQUESTS)])],
                                config={"callbacks": [counter]})
        intents.append(route.intent.value)
    after = local_server_metrics()
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    snap = counter.snapshot()
    lat = snap["latencies_s"]
    info = local_server_info()
    gen_s = delta.get("tokens_predicted_seconds_total", 0.0)
    prompt_s = delta.get("prompt_seconds_total", 0.0)
    return {
        "calls": n,
        "threads": info.threads if info else settings.threads,
        "load_s": round(load_s, 2),
        "latency_p50_s": round(pct(lat, 0.5), 2),
        "latency_p95_s": round(pct(lat, 0.95), 2),
        "latency_mean_s": round(statistics.fmean(lat), 2),
        "prompt_tokens": snap["prompt_tokens"],
        "prompt_tokens_processed": int(delta.get("prompt_tokens_total", 0)),
        "prompt_tokens_cached": snap["cached_tokens"],
        "prompt_tokens_per_s": round(delta.get("prompt_tokens_total", 0) / prompt_s, 1) if prompt_s else None,
        "generated_tokens": snap["completion_tokens"],
        "generation_tokens_per_s": round(delta.get("tokens_predicted_total", 0) / gen_s, 1) if gen_s else None,
        "intents": intents,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--calls", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default INTEREC_LLM_THREADS)")
    ap.add_argument("--out", default=None, help="write JSON here too")
    args = ap.parse_args()
    overrides: dict[str, Any] = {"provider": "local"}
    if args.threads:
        overrides["threads"] = args.threads
    result = run(args.calls, LLMSettings.from_env(**overrides))
    shutdown_local_server()
    rows = [(k, v) for k, v in result.items() if k != "intents"]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
