"""Config errors are one clear message that names the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.build import build_domain
from models.config import DomainError, load_config
from tests.conftest import SHOP


def _copy_shop(tmp_path: Path) -> Path:
    dst = tmp_path / "shop"
    shutil.copytree(SHOP, dst)
    return dst


def _edit(dom: Path, fn) -> None:  # type: ignore[no-untyped-def]
    cfg = json.loads((dom / "domain.json").read_text())
    fn(cfg)
    (dom / "domain.json").write_text(json.dumps(cfg))


def test_missing_folder() -> None:
    with pytest.raises(DomainError, match="domain folder not found"):
        load_config("/nonexistent/place")


def test_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(DomainError, match="no domain config"):
        load_config(tmp_path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    (dom / "plays.csv").unlink()
    with pytest.raises(DomainError, match=r"\[interactions\]: file not found: plays.csv"):
        load_config(dom)


def test_missing_column_is_named(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    _edit(dom, lambda c: c["items"].update(numbers=["price", "weight"]))
    cfg = load_config(dom)
    with pytest.raises(DomainError, match=r"items file items.jsonl has no column 'weight'"):
        build_domain(cfg, tmp_path / "art", progress=False, index=False)


def test_missing_interaction_column(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    _edit(dom, lambda c: c["interactions"].update(user="customer"))
    with pytest.raises(DomainError, match="no column 'customer'"):
        build_domain(load_config(dom), tmp_path / "art", progress=False, index=False)


def test_missing_required_key(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    _edit(dom, lambda c: c["items"].pop("title"))
    with pytest.raises(DomainError, match=r"\[items\]: missing required key 'title'"):
        load_config(dom)


def test_bad_json(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    (dom / "domain.json").write_text("{not json")
    with pytest.raises(DomainError, match="not valid JSON"):
        load_config(dom)


def test_reserved_and_bad_names(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    _edit(dom, lambda c: c["items"].update(numbers=["popularity"]))
    with pytest.raises(DomainError, match="reserved"):
        load_config(dom)
    _edit(dom, lambda c: c["items"].update(numbers=["price in usd"]))
    with pytest.raises(DomainError, match="plain identifier"):
        load_config(dom)


def test_positive_at_needs_rating(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    _edit(dom, lambda c: c["interactions"].update(positive_at=3))
    with pytest.raises(DomainError, match="needs a 'rating' column"):
        load_config(dom)


def test_unsupported_file_type(tmp_path: Path) -> None:
    dom = _copy_shop(tmp_path)
    (dom / "items.xlsx").write_text("x")
    _edit(dom, lambda c: c["items"].update(path="items.xlsx"))
    with pytest.raises(DomainError, match="unsupported file type"):
        load_config(dom)


def test_cli_prints_one_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import app

    dom = _copy_shop(tmp_path)
    (dom / "items.jsonl").unlink()
    rc = app.run(["build", "--domain", str(dom), "--artifacts", str(tmp_path / "a"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: [items]: file not found: items.jsonl")
    assert "Traceback" not in err
