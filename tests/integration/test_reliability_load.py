"""A small run of benchmarks/load_test.py (10 conversations x 3 turns against uvicorn on 127.0.0.1): zero
5xx, zero errors, zero cross-talk in replies, histories and profiles. The full 100 x 10 run is a benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.ci]


def test_small_load_run_has_no_errors_and_no_crosstalk(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "load.json"
    env = {**os.environ, "INTEREC_ARTIFACTS": str(ml_domain_indexed.artifacts.parent), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "benchmarks/load_test.py", "--conversations", "10", "--turns", "3",
                        "--deadline", "300", "--out", str(out)], cwd=ROOT, env=env, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stdout.decode()[-3000:] + p.stderr.decode()[-3000:]
    res = json.loads(out.read_text())
    assert res["ok"] == res["turns_expected"] == 30 and res["within_deadline"]
    assert res["status_5xx"] == 0 and res["errors"] == 0
    assert res["crosstalk_replies"] == 0 and res["replies_with_marker"] == 30  # every reply names its own thread
    assert res["threads_with_foreign_or_missing_messages"] == 0 and res["profiles_not_exactly_own"] == 0
    assert res["latency_ms"]["p50"] > 0 and res["latency_ms"]["p95"] >= res["latency_ms"]["p50"]
    assert res["server_peak_rss_mb"] > 100
    assert "cross-talk replies" in p.stdout.decode()  # the table is printed
