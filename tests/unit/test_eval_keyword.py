"""The keyword baseline: a plain matcher of catalog values, independent of the agent's understanding code;
and identifiability (the target's rank among items matching the revealed facts), hand-computed on the shop."""

from __future__ import annotations

import ast
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from evals.cases import EvalCase
from evals.sim_facts import Fact, FactIndex
from evals.simulators import TemplatedSimulator
from evals.systems import KeywordMatcher, KeywordSystem
from tests.conftest import SHOP

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The 12-game shop with popularity set by hand: item i has popularity i (Rally Kings, iid 11, most)."""
    from models.build import build_domain
    from models.config import load_config
    from models.domain import Domain

    root = tmp_path_factory.mktemp("kwshop")
    shutil.copytree(SHOP, root / "shop")
    cfg = load_config(root / "shop")
    build_domain(cfg, root / "art", progress=False, index=False)
    d = Domain(cfg, root / "art")
    d.__dict__["popularity"] = np.arange(12, dtype=np.int64)
    return d


def test_keyword_counts_verbatim_values_then_popularity(shop) -> None:  # type: ignore[no-untyped-def]
    kw = KeywordSystem(shop)
    # puzzle items 0, 4, 8 have tags=puzzle, category=puzzle, tags=multiplayer (3 values); strategy items
    # 2, 6, 10 only tags=multiplayer (1); the rest none: each group by popularity (= iid here)
    assert kw.ranked(["I want a PUZZLE game", "with Multiplayer"]) == [8, 4, 0, 10, 6, 2, 11, 9, 7, 5, 3, 1]
    assert kw.ranked(["puzzles please"])[:3] == [11, 10, 9]  # verbatim only: no plural, no stemming
    assert kw.ranked(["multiplayers"])[:1] == [11]
    assert kw.ranked(["single-player shooter"], pool=[1, 3, 5, 2]) == [5, 1, 3, 2]


def test_keyword_matcher_whole_words_any_case(shop) -> None:  # type: ignore[no-untyped-def]
    m = KeywordMatcher(shop)
    assert m.match("A Racing game") == {"tags=racing", "category=racing"}
    assert m.match("a shooterish game") == set()  # inside a longer word: no match
    assert m.match("single-player or multiplayer") == {"tags=single-player", "tags=multiplayer"}
    assert list(m.scores(["strategy"])) == [0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0]


def test_keyword_baseline_imports_nothing_of_the_agent() -> None:
    tree = ast.parse((ROOT / "evals" / "systems.py").read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    mods = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    mods += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [m for m in mods if m.split(".")[0] in ("graph", "tools")]
    kw_src = "".join(ast.get_source_segment((ROOT / "evals" / "systems.py").read_text(encoding="utf-8"), n) or ""
                     for n in tree.body if isinstance(n, ast.ClassDef) and "Keyword" in n.name)
    assert "graph." not in kw_src and "tools." not in kw_src


def _case(shop, target: int) -> EvalCase:  # type: ignore[no-untyped-def]
    from evals.cases import item_attributes

    return EvalCase(f"u-{target}", "u", 0, target, shop.titles[target], (0,), (shop.titles[0],),
                    item_attributes(shop, target))


def test_identifiability_ranks_by_hand(shop) -> None:  # type: ignore[no-untyped-def]
    idx = FactIndex(shop)
    assert idx.kinds == {"tags": "category", "price": "band", "released": "period", "category": "text"}
    # Empire Builder (iid 4, puzzle, 18.99, 2014): 7 items are more popular overall
    assert idx.rank(4, []) == 8
    puzzle = Fact("category", "tags", "puzzle", "tags=puzzle")
    assert idx.rank(4, [puzzle]) == 2  # puzzle items 0, 4, 8: only Turbo Lane (8) is more popular
    period = Fact("period", "released", (2013, 2016), "released=2013..2016|the mid 2010s")
    assert idx.rank(4, [puzzle, period]) == 1
    under = Fact("band", "price", (0.0, 20.0), "price<=20")
    assert idx.rank(4, [under]) == 1  # priced <= 20: 1, 2, 3, 4 (the free ones have no number)
    assert idx.rank(0, [Fact("category", "tags", "multiplayer", "tags=multiplayer")]) == 6


def test_simulator_reveals_periods_bands_and_records_identifiability(shop) -> None:  # type: ignore[no-untyped-def]
    sim = TemplatedSimulator(shop, seed=0, bank="dev", budget=3)
    for target in range(12):
        s = sim.session(_case(shop, target))
        turns = [s.first()] + [s.respond("1. x", ["x"]) for _ in range(4)]
        facts = [k for t in turns for k in t.facts]
        assert len([k for k in facts if k != "history"]) <= 3  # the budget
        released = str(shop.items.iloc[target]["released"])
        for t in turns:
            assert released not in t.text and not re.search(rf"\b{released[:4]}\b(?!s)", t.text)  # a period only
        ranks = [t.ident_rank for t in turns]
        assert ranks == sorted(ranks, reverse=True)  # more facts never widen the set
        assert ranks[-1] == s.final_rank
        for k in facts:
            if k.startswith("released="):
                lo, hi = (int(x) for x in k.split("=")[1].split("|")[0].split(".."))
                assert lo <= int(released[:4]) <= hi and hi - lo in (3, 9)


def test_price_band_uses_the_unit_of_the_describe_text(shop) -> None:  # type: ignore[no-untyped-def]
    from evals.sim_facts import _band
    from evals.simulators import Phraser, load_bank

    idx = FactIndex(shop)
    rng = random.Random(0)
    f = None
    while f is None or "<=" not in f.key:
        f = _band(shop, "price", 18.99, idx, rng)
    assert f.key == "price<=20" and f.value[1] == 20.0
    text = " ".join(Phraser(shop, load_bank("dev"), rng).fact(f))
    assert "20 USD" in text  # shop: describe "price in USD"
