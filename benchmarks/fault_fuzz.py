"""HTTP API fuzzing with schemathesis against the server's own OpenAPI spec (stub LLM).

  python benchmarks/fault_fuzz.py [--requests 2000] [--llm-ms 0] [--out FILE]

The real app runs under uvicorn on 127.0.0.1 (API keys on, stub LLM). schemathesis reads /openapi.json
and generates requests for every operation, valid and invalid (negative) data both, spread evenly until
`--requests` have been sent. Each response is checked: never a 5xx, the status code, content type, headers
and body declared in the spec. Prints the counts per check and per operation and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load_test import StubLLM  # noqa: E402
from benchmarks.stub_server import start_uvicorn, stub_app  # noqa: E402

KEY = {"X-API-Key": "fuzz-key-0"}


def fuzz_app() -> Any:
    """The app under test (uvicorn --factory target), configured by FUZZ_* variables."""
    return stub_app(StubLLM(latency_s=float(os.environ.get("FUZZ_LLM_MS", "0")) / 1000), "FUZZ", 1)


def fuzz(url: str, total: int, seed: int) -> dict[str, Any]:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.core.failures import Failure, FailureGroup

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    ops = [r.ok() for r in schema.get_all_operations()]
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    by_op: dict[str, dict[str, int]] = {}
    samples: list[str] = []

    def fuzz_op(op: Any, examples: int) -> None:
        name = f"{op.method.upper()} {op.path}"
        stats = by_op.setdefault(name, {"requests": 0, "5xx": 0, "failed_checks": 0})

        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def one(case: Any) -> None:
            try:
                resp = case.call(base_url=url, headers={**KEY, **(case.headers or {})}, timeout=60)
            except Exception as e:  # noqa: BLE001 - a dropped connection would be a server fault
                errors[type(e).__name__] += 1
                return
            stats["requests"] += 1
            statuses[resp.status_code] += 1
            stats["5xx"] += resp.status_code >= 500
            try:
                case.validate_response(resp, checks=checks)
            except (FailureGroup, Failure, AssertionError) as e:
                group = list(e.exceptions) if isinstance(e, FailureGroup) else [e]
                for f in group:
                    failures[getattr(f, "title", type(f).__name__)] += 1
                stats["failed_checks"] += 1
                if len(samples) < 40:
                    samples.append(f"{name} -> {resp.status_code}: "
                                   + " / ".join(str(f)[:300].replace("\n", " ") for f in group))

        one()

    def sent() -> int:
        return sum(s["requests"] for s in by_op.values())

    plan = [(op, max(1, -(-total // len(ops)))) for op in ops]
    for _ in range(8):  # operations without parameters give one example: the others take up the rest
        for op, examples in plan:
            fuzz_op(op, examples)
        left = total - sent()
        takers = [op for op in ops if by_op[f"{op.method.upper()} {op.path}"]["requests"] > 2]
        if left <= 0 or not takers:
            break
        plan = [(op, max(1, -(-left // len(takers)))) for op in takers]
    return {"operations": len(ops), "requests": sent(), "status_5xx": sum(n for s, n in statuses.items() if s >= 500),
            "responses_failing_checks": sum(s["failed_checks"] for s in by_op.values()),
            "failures_by_check": dict(failures), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "transport_errors": dict(errors), "by_operation": by_op, "samples": samples}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--llm-ms", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--domain", default="data/movielens")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interec-fuzz-") as mem:
        env = {**os.environ, "FUZZ_DOMAIN": args.domain, "FUZZ_MEMORY": mem, "FUZZ_LLM_MS": str(args.llm_ms),
               "FUZZ_USERS": "1", "LANGSMITH_TRACING": "false", "INTEREC_WARMUP": "false", "HF_HUB_OFFLINE": "1"}
        proc, url = start_uvicorn("benchmarks.fault_fuzz:fuzz_app", env)
        try:
            res = fuzz(url, args.requests, args.seed)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    res["wall_s"] = round(time.perf_counter() - started, 1)
    res["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(f"schemathesis fuzzing: {res['requests']} requests over {res['operations']} operations")
    for k in ("status_5xx", "responses_failing_checks", "failures_by_check", "statuses", "transport_errors", "wall_s"):
        print(f"  {k:26s} {res[k]}")
    for op, s in res["by_operation"].items():
        print(f"  {op:40s} {s}")
    for s in res["samples"]:
        print("FAIL:", s)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    return 0 if res["status_5xx"] == 0 and res["responses_failing_checks"] == 0 and not res["transport_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
