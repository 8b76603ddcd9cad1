"""The doke and explain suites end to end on MovieLens (scripted LLM, tiny trained models): tables, JSON,
resumable records."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from evals.report import markdown
from evals.runner import EvalSpec, run_eval
from models.domain import Domain
from models.sasrec import SASRecConfig
from models.training import train_models


@pytest.fixture(scope="module")
def trained(ml_domain, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A private copy of the MovieLens artifacts with a tiny SASRec and ItemCF (the shared copy stays untrained)."""
    art = tmp_path_factory.mktemp("doke") / "art"
    shutil.copytree(ml_domain.artifacts, art)
    domain = Domain(ml_domain.config, art)
    cfg = SASRecConfig(hidden=16, blocks=1, heads=1, max_epochs=1, min_epochs=1, threads=1, device="cpu")
    train_models(domain, ["itemcf", "sasrec"], progress=False, sasrec_config=cfg)
    return domain


def test_doke_suite(trained: Domain, tmp_path: Path) -> None:
    spec = EvalSpec(suite="doke", n=6, llm="scripted", progress=False)
    res = run_eval(trained, spec, tmp_path / "run", log=lambda s: None)
    systems = res["systems"]
    assert set(systems) == {"popularity", "sasrec", "llm-rank", "llm-rank-doke"}
    for name, m in systems.items():
        assert m["cases"] == 6 and m["errors"] == 0
        recs = [json.loads(p.read_text()) for p in (tmp_path / "run" / "records" / name).glob("*.json")]
        pos = [r["ranking"].index(r["target"]) + 1 for r in recs]  # recomputed from the records, by hand
        assert m["N@20"] == pytest.approx(sum(1 / math.log2(p + 1) for p in pos) / 6, abs=1e-4)
        assert m["Hit@5"] == pytest.approx(sum(p <= 5 for p in pos) / 6, abs=1e-4)
    assert systems["llm-rank-doke"]["knowledge_tokens"] <= 300 and systems["llm-rank-doke"]["facts"] > 0
    rec = json.loads(next((tmp_path / "run" / "records" / "llm-rank-doke").glob("*.json")).read_text())
    assert sorted(rec["ranking"]) == sorted(rec["candidates"]) and rec["target"] in rec["candidates"]
    assert all({"iid", "kind", "text", "evidence"} <= set(f) for f in rec["knowledge"])
    table = markdown(res)
    assert "| llm-rank-doke (scripted) |" in table and "N@20" in table
    assert (tmp_path / "run" / "results.json").exists() and (tmp_path / "run" / "report.md").exists()
    again = run_eval(trained, spec, tmp_path / "run", log=lambda s: None)
    assert all(t.get("new_cases") == 0 for k, t in again["timings"].items() if k != "total_s")


def test_explain_suite(trained: Domain, tmp_path: Path) -> None:
    res = run_eval(trained, EvalSpec(suite="explain", n=6, llm="scripted", progress=False), tmp_path / "run",
                   log=lambda s: None)
    m = res["systems"]["explain"]
    assert set(res["systems"]) == {"explain", "attribute", "co-liked"}
    assert m["cases"] == 6 and m["errors"] == 0
    assert "leave-one-out" in m["method"]
    recs = [json.loads(p.read_text()) for p in (tmp_path / "run" / "records" / "explain").glob("*.json")]
    for r in recs:
        if r["cited"]:
            assert r["holds"] == (r["drop_cited"] > r["drop_random"]) and r["k"] == len(r["cited"])
            assert set(r["cited"]) <= set(r["history"])
    cited = [r for r in recs if r["cited"]]
    assert m["faithful_share"] == pytest.approx(sum(r["holds"] for r in cited) / len(cited) if cited else 0.0, abs=1e-4)
    assert "faithful share" in markdown(res)


def test_unknown_system_is_a_clear_error(trained: Domain, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown system 'agent' for --suite doke"):
        run_eval(trained, EvalSpec(suite="doke", n=2, llm="scripted", systems=["agent"], progress=False),
                 tmp_path / "run", log=lambda s: None)
