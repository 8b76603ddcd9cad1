"""Build progress and honesty: per-step time table, estimates from measured rates, model states."""

import json
import os
import shutil
from pathlib import Path

from models.build import build_domain, fmt_duration, read_rates, record_rate
from models.config import load_config
from models.training import TRAINING_MARKER, model_status, ranker_note
from tests.unit.rec_fixtures import ToyDomain

SHOP = Path(__file__).resolve().parents[1] / "fixtures" / "shop"


def test_time_table_lists_each_step_and_up_to_date_steps_cost_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(tmp_path / "art"))
    shutil.copytree(SHOP, tmp_path / "shop")
    cfg = load_config(tmp_path / "shop")
    first = build_domain(cfg, tmp_path / "art" / "shop", progress=False, index=False)
    assert first.steps == {"catalog": "built"} and first.timings["catalog"] > 0
    table = first.time_table().splitlines()
    assert table[0].split() == ["step", "state", "seconds"]
    assert table[1].split()[:2] == ["catalog", "built"] and table[-1].split()[0] == "total"
    again = build_domain(cfg, tmp_path / "art" / "shop", progress=False, index=False)
    assert again.steps == {"catalog": "up to date"} and again.timings == {"catalog": 0.0}


def test_rates_are_remembered_and_averaged(tmp_path, monkeypatch):
    monkeypatch.setenv("INTEREC_ARTIFACTS", str(tmp_path))
    assert read_rates()["embed_items_per_s"] == 300.0  # the default before any build
    record_rate("embed_items_per_s", 100.0)
    assert read_rates()["embed_items_per_s"] == 100.0
    record_rate("embed_items_per_s", 200.0)
    assert read_rates()["embed_items_per_s"] == 150.0
    assert json.loads((tmp_path / "rates.json").read_text())["embed_items_per_s"] == 150.0
    assert fmt_duration(42) == "42 s" and fmt_duration(600) == "10.0 min"


def test_a_running_background_job_is_reported_and_a_dead_one_is_not(tmp_path):
    dom = ToyDomain(tmp_path)
    marker = tmp_path / "models" / TRAINING_MARKER
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"pid": os.getpid(), "models": ["sasrec"], "started": 0, "log": "/x.log"}))
    st = model_status(dom, ("sasrec", "popularity"))
    assert st["sasrec"]["state"] == "training" and st["popularity"]["state"] == "missing"
    assert "background" in ranker_note(dom) and "/x.log" in ranker_note(dom)
    marker.write_text(json.dumps({"pid": 2**22 + 12345, "models": ["sasrec"], "started": 0, "log": "/x.log"}))
    assert model_status(dom, ("sasrec",))["sasrec"]["state"] == "missing"
    assert "no SASRec trained" in ranker_note(dom)
