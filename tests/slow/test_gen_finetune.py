"""RecLM-gen fine-tuning smoke test: a tiny randomly initialised Qwen2 (no download) with LoRA learns the
domain's supervised tasks on CPU; the training and held-out losses go down and the adapter is saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("peft")


@pytest.mark.slow
@pytest.mark.ci
def test_tiny_lora_finetune_lowers_the_loss(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from models.gen_finetune import TASKS, GenTuneConfig, build_examples, finetune
    from models.recdata import from_domain

    seqs = from_domain(ml_domain).train
    examples = build_examples(ml_domain, seqs, per_task=5, seed=3)
    assert {e.task for e in examples} == set(TASKS)
    titles = {e.answer for e in examples}
    assert all(a.startswith("1. ") and a.endswith("\n") for a in titles)
    assert any("but more" in e.prompt for e in examples if e.task == "controlled")

    cfg = GenTuneConfig(tiny=True, per_task=40, epochs=3, batch_size=8, lr=3e-3, threads=1, merge=True)
    report = finetune(ml_domain, cfg, tmp_path / "gen", sequences=seqs)
    assert report["steps"] >= 30
    assert report["last_loss"] < report["first_loss"]
    assert report["eval_loss_after"] < report["eval_loss_before"]
    assert (tmp_path / "gen" / "adapter" / "adapter_config.json").is_file()
    assert (tmp_path / "gen" / "merged" / "config.json").is_file()
    saved = json.loads((tmp_path / "gen" / "report.json").read_text())
    assert saved["base"].startswith("tiny random")


def test_finetune_refuses_bad_settings(ml_domain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from models.gen_finetune import GenTuneConfig, build_examples, finetune

    with pytest.raises(ValueError, match="choose a base model"):
        finetune(ml_domain, GenTuneConfig(per_task=2), tmp_path, sequences=[[1, 2, 3]])
    with pytest.raises(ValueError, match="at least 1"):
        finetune(ml_domain, GenTuneConfig(tiny=True, per_task=0), tmp_path, sequences=[[1, 2, 3]])
    with pytest.raises(ValueError, match="unknown task"):
        build_examples(ml_domain, [[1, 2, 3]], tasks=["nope"])
    with pytest.raises(ValueError, match="two or more"):
        build_examples(ml_domain, [[1]])
