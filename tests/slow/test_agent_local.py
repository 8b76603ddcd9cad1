"""The agent with the real embedded model (Qwen2.5-Coder-1.5B via xllamacpp): plans and a full turn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.plan_quality import evaluate_plans, load_requests
from tests.conftest import MOVIELENS, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.ci]


@pytest.fixture(scope="module")
def local_deps(ml_domain_indexed, tmp_path_factory):  # type: ignore[no-untyped-def]
    from graph.agent import make_deps
    from models.llm import LLMSettings
    from models.llm_factory import get_chat_model

    llm = get_chat_model(LLMSettings.from_env(provider="local"))
    return make_deps(ml_domain_indexed, llm, memory_path=tmp_path_factory.mktemp("mem"), use_models=False)


def test_plans_on_labelled_requests(local_deps) -> None:  # type: ignore[no-untyped-def]
    requests = load_requests(ROOT / "tests" / "fixtures" / "plan_requests.jsonl")
    assert len(requests) >= 30
    q = evaluate_plans(local_deps, requests)
    s = q.summary()
    print(json.dumps(s, indent=1))
    for row in q.rows:
        print(row)
    assert s["valid_rate"] >= 0.95
    assert s["family_rate_repaired"] >= 0.80


def test_chat_once_gives_a_grounded_reply(ml_domain_indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {"INTEREC_MEMORY_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
           "INTEREC_ARTIFACTS": str(ml_domain_indexed.artifacts.parent), "LANGSMITH_TRACING": "false"}
    import os

    env.update({k: v for k, v in os.environ.items() if k.startswith(("INTEREC_LLM", "INTEREC_MODEL", "HOME"))})
    out = subprocess.run([sys.executable, str(ROOT / "app.py"), "chat", "--domain", str(MOVIELENS), "--no-build",
                          "--once", "recommend three comedies from the 90s"],
                         capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    reply = out.stdout.split("agent> ")[-1]
    items = ml_domain_indexed.items
    named = [t for t in items["title"] if t in reply]
    assert len(named) >= 3, reply
    for t in named:
        row = items[items["title"] == t].iloc[0]
        assert "Comedy" in row["genres"] and 1990 <= row["year"] <= 1999, t
