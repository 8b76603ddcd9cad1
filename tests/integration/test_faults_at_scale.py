"""Small CI runs of the fault scripts in benchmarks/ (issue 14, item 7); the full runs are in
docs/RELIABILITY.md. Each drives the real server (or the real SQL engine) with a stub LLM."""

from __future__ import annotations

import pytest

from tests.conftest import MOVIELENS


@pytest.fixture()
def artifacts_env(ml_domain_indexed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(ml_domain_indexed.artifacts.parent))
    for k in ("INTEREC_CHECKPOINT_URL", "INTEREC_CHROMA_HOST", "INTEREC_API_KEYS"):
        monkeypatch.delenv(k, raising=False)


def test_hostile_sql_small(ml_domain, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.fault_sql import run

    monkeypatch.setenv("INTEREC_ARTIFACTS", str(ml_domain.artifacts.parent))
    res = run(300, str(MOVIELENS))
    assert res["examples"] == 300 and res["crashes"] == 0 and res["writes"] == 0, res["crash_samples"]
    assert res["overruns_over_limit_plus_0.5s"] == 0 and res["answered"] > 0 and res["refused"] > 0


@pytest.mark.slow
@pytest.mark.ci
def test_sigkill_at_random_points_small(artifacts_env) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    # Its own process: the script forks servers from a warm parent, and a fork is only safe from a
    # single-threaded one (this pytest process has thread pools from earlier tests).
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "kill.json"
        proc = subprocess.run([sys.executable, "benchmarks/fault_kill.py", "--kills", "3", "--threads", "2",
                               "--llm-ms", "150", "--seed", "1", "--domain", str(MOVIELENS), "--max-delay", "2.5",
                               "--out", str(out)], cwd=Path(__file__).resolve().parents[2], timeout=900,
                              capture_output=True, text=True)
        assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
        res = json.loads(out.read_text())
    assert res["finished_lost"] == 0 and res["cut_not_reported"] == 0 and res["integrity_failures"] == 0, res["problems"]
    assert res["other_errors"] == 0 and res["finished"] + res["cut"] > 0


@pytest.mark.slow
@pytest.mark.ci
def test_two_workers_one_thread_small(artifacts_env) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.fault_workers import run

    res = run(rounds=5, burst=4, llm_ms=100, domain=str(MOVIELENS))
    assert res["status_5xx"] == 0 and res["other"] == 0, res["samples"]
    assert res["answered_200"] >= 5 and res["refused_409"] >= 1 and res["409_with_clear_message"] == res["refused_409"]
    assert res["history_alternates"] and res["history_matches_answers"] and res["workers_agree"]
    assert res["integrity_check"] == "ok"


@pytest.mark.slow
@pytest.mark.ci
def test_schemathesis_fuzz_small(artifacts_env) -> None:  # type: ignore[no-untyped-def]
    import os
    import tempfile
    import time

    from benchmarks.fault_fuzz import fuzz
    from benchmarks.stub_server import start_uvicorn

    with tempfile.TemporaryDirectory() as mem:
        env = {**os.environ, "FUZZ_DOMAIN": str(MOVIELENS), "FUZZ_MEMORY": mem, "FUZZ_USERS": "1",
               "LANGSMITH_TRACING": "false", "INTEREC_WARMUP": "false", "HF_HUB_OFFLINE": "1"}
        proc, url = start_uvicorn("benchmarks.fault_fuzz:fuzz_app", env)
        try:
            t = time.perf_counter()
            res = fuzz(url, 150, 0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert res["requests"] >= 150 and res["status_5xx"] == 0, res["samples"]
    assert res["responses_failing_checks"] == 0 and not res["transport_errors"], res["samples"]
    assert time.perf_counter() - t < 600
