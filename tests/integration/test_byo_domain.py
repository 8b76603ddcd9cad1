"""A bring-your-own catalog (JSON-lines items, JSON list column, "Free" prices, no timestamps) end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.build import build_domain
from models.config import load_config
from tests.conftest import SHOP


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("byo")
    dom = root / "shop"
    shutil.copytree(SHOP, dom)
    cfg = load_config(dom)
    report = build_domain(cfg, root / "art" / "shop", progress=False, index=True)
    return report, dom, root


def test_build_reports_counts_and_warnings(shop) -> None:  # type: ignore[no-untyped-def]
    report, _dom, _root = shop
    assert report.stats["items"] == 12
    assert report.stats["interactions"] == 39  # 40 rows, one with an unknown item skipped
    assert report.stats["users"] == 8
    assert report.stats["interaction_word"] == "interactions"
    assert any("price" in w and "non-numeric" in w and "'Free'" in w and w.startswith("column 'price': 3") for w in report.warnings)
    assert any("unknown item id" in w for w in report.warnings)
    assert report.steps == {"catalog": "built", "index": "built", "vocabulary": "built"}


def test_tables_and_types(shop) -> None:  # type: ignore[no-untyped-def]
    report, dom, root = shop
    from models.domain import Domain

    d = Domain(load_config(dom), report.artifacts)
    items = d.items
    assert items.loc[0, "tags"] == "puzzle|multiplayer"
    assert np.isnan(items.loc[0, "price"])  # "Free" -> missing, counted in the warning
    assert items.loc[1, "price"] == pytest.approx(8.49)
    assert items.loc[0, "released"] == "2010-01-15"
    # no timestamps: file order is the sequence order, leave-last-out over it
    seq0 = d.interactions[d.interactions["user"] == "p0"]
    assert list(seq0["split"]) == ["train", "train", "valid", "test"]
    assert list(seq0["iid"]) == [0, 3, 6, 9]
    # list column queryable the way an LLM writes it, value snapped to the real category
    ids, notes = d.table.filter_ids("SELECT * FROM games WHERE tags = 'Puzzle'")
    assert sorted(ids) == [0, 4, 8]
    assert any("is a list" in n and "has the value puzzle" in n for n in notes)
    rows = d.table.query("SELECT name, price FROM items WHERE price < 10 ORDER BY price").records()
    assert rows[0] == {"title": "Star Racer", "price": 8.49}
    assert d.resolver.best("block puzle deluxe").title == "Block Puzzle Deluxe"  # type: ignore[union-attr]


def test_dense_index_finds_items(shop) -> None:  # type: ignore[no-untyped-def]
    report, dom, _root = shop
    from models.domain import Domain

    d = Domain(load_config(dom), report.artifacts)
    hits = d.item_index().search("a racing game", k=3)
    titles = [d.titles[i] for i, _ in hits]
    assert set(titles) & {"Neon Drift", "Rally Kings", "Star Racer", "Turbo Lane"}
    among = d.item_index().search("racing", k=5, among=[0, 1])
    assert {i for i, _ in among} <= {0, 1}


def test_rebuild_skips_unchanged_and_redoes_changed(shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    report, dom, root = shop
    again = build_domain(load_config(dom), report.artifacts, progress=False, index=True)
    assert again.steps == {"catalog": "up to date", "index": "up to date", "vocabulary": "up to date"}
    assert again.stats["items"] == 12
    dom2 = tmp_path / "shop2"
    shutil.copytree(dom, dom2)
    art2 = tmp_path / "art2"
    build_domain(load_config(dom2), art2, progress=False, index=False)
    with (dom2 / "plays.csv").open("a") as f:
        f.write("p1,G002\n")
    changed = build_domain(load_config(dom2), art2, progress=False, index=False)
    assert changed.steps == {"catalog": "built"}
    assert changed.stats["interactions"] == 40
