"""The same `app.py eval` command, unchanged, on the bring-your-own shop domain (every suite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import app
from tests.conftest import SHOP


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from models.artifacts import artifacts_dir
    from models.build import build_domain
    from models.config import load_config

    root = tmp_path_factory.mktemp("evbyo")
    dom = root / "shop"
    shutil.copytree(SHOP, dom)
    cfg = load_config(dom)
    build_domain(cfg, artifacts_dir(cfg, root / "art"), progress=False, index=True)
    return dom, root / "art"


@pytest.mark.parametrize("suite,systems", [
    ("simulator", "random,popularity,keyword,dense,agent"),
    ("one-turn-retrieval", "random,popularity,keyword,agent"),
    ("one-turn-ranking", "random,popularity,keyword,dense,llm,agent"),
    ("retrieval", "random,popularity,keyword,dense,chatrec,agent"),
    ("ranking", "random,popularity,keyword,llm"),
    ("explanation", "template,llm,agent"),
])
def test_eval_command_on_the_shop_domain(shop, tmp_path: Path, suite: str, systems: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    dom, art = shop
    out = tmp_path / "run"
    rc = app.run(["eval", "--domain", str(dom), "--artifacts", str(art), "--suite", suite, "--n", "5",
                  "--systems", systems, "--llm", "scripted", "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["domain"] == "shop" and res["config"]["n"] == 5
    assert list(res["systems"]) == systems.split(",")
    assert all(m.get("errors", 0) == 0 for m in res["systems"].values()), res["systems"]
    text = capsys.readouterr().out
    assert f"# {suite} on shop" in text and (out / "report.md").is_file()
    if suite == "explanation":
        assert set(res["pairwise"]) == {"agent|llm", "agent|template", "llm|template"}
        assert all(p["helpfulness"] == 0.5 for p in res["pairwise"].values())  # the scripted judge calls ties
    else:
        assert (out / "metrics.png").is_file()


def test_bad_run_folder_is_one_clear_error(shop, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dom, art = shop
    args = ["eval", "--domain", str(dom), "--artifacts", str(art), "--n", "2", "--systems", "random",
            "--out", str(tmp_path / "r"), "--quiet"]
    assert app.run(args) == 0
    assert app.run([*args, "--seed", "3"]) == 2
    assert "holds a different run" in capsys.readouterr().err
    assert app.run([*args, "--seed", "3", "--fresh"]) == 0
    bad = ["eval", "--domain", str(dom), "--artifacts", str(art), "--n", "2", "--systems", "oracle",
           "--out", str(tmp_path / "r2"), "--quiet"]
    assert app.run(bad) == 2
    assert "unknown system 'oracle'" in capsys.readouterr().err
