"""The evaluation catalogs: the config features they need (per-file format/encoding, a join through an
id -> name lookup table, derived numbers from whole-value maps) and the synthetic store generator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models.catalog import BuildWarnings, normalise_interactions, normalise_items
from models.config import DomainError, load_config

ROOT = Path(__file__).resolve().parents[2]


def _lastfm_like(tmp: Path) -> Path:
    """Tab-separated .dat files like Last.fm's, the tag names in latin-1, joined through tag ids."""
    (tmp / "artists.dat").write_text('id\tname\n1\tLee "Scratch" Perry\n2\tBj\u00f6rk\n3\tNobody\n', encoding="utf-8")
    (tmp / "tags.dat").write_bytes("tagID\ttagValue\n7\tdub\n8\ticelandic\n9\tart p\u00f3p\n".encode("latin-1"))
    (tmp / "tagged.dat").write_text("userID\tartistID\ttagID\n1\t1\t7\n2\t1\t7\n2\t1\t9\n1\t2\t8\n1\t2\t99\n")
    (tmp / "plays.dat").write_text("userID\tartistID\tweight\n1\t1\t10\n1\t2\t5\n2\t1\t3\n")
    (tmp / "domain.toml").write_text('''
name = "fm"
[items]
path = "artists.dat"
format = "tsv"
id = "id"
title = "name"
[[items.join]]
as = "tags"
path = "tagged.dat"
format = "tsv"
key = "artistID"
column = "tagID"
lookup = { path = "tags.dat", format = "tsv", encoding = "latin-1", key = "tagID", column = "tagValue" }
[interactions]
path = "plays.dat"
format = "tsv"
user = "userID"
item = "artistID"
''')
    return tmp


def test_join_through_lookup_with_format_and_encoding(tmp_path: Path) -> None:
    cfg = load_config(_lastfm_like(tmp_path))
    items = normalise_items(cfg, BuildWarnings())
    assert items["title"].tolist() == ['Lee "Scratch" Perry', "Bj\u00f6rk", "Nobody"]
    # most-tagged first; the unknown tag id 99 is dropped; the latin-1 name is decoded
    assert items["tags"].tolist() == ["dub|art p\u00f3p", "icelandic", ""]  # joined values are a list (catalog v2)
    inter = normalise_interactions(cfg, items, BuildWarnings())
    assert len(inter.frame) == 3
    assert tmp_path / "tags.dat" in cfg.input_files()  # a changed lookup rebuilds the catalog


def test_bad_format_and_encoding_are_named(tmp_path: Path) -> None:
    dom = _lastfm_like(tmp_path)
    text = (dom / "domain.toml").read_text()
    (dom / "domain.toml").write_text(text.replace('encoding = "latin-1"', 'encoding = "klingon"'))
    with pytest.raises(DomainError, match="unknown encoding 'klingon'"):
        load_config(dom)
    (dom / "domain.toml").write_text(text.replace('path = "plays.dat"\nformat = "tsv"', 'path = "plays.dat"\nformat = "xls"'))
    with pytest.raises(DomainError, match=r"\[interactions\]: format must be one of"):
        load_config(dom)


def test_derived_number_maps_whole_values_before_the_regex(tmp_path: Path) -> None:
    pd.DataFrame({"id": [1, 2, 3, 4], "title": list("abcd"),
                  "price": ["$12.99", "Free", "free to play", "ask us"]}).to_csv(tmp_path / "i.csv", index=False)
    pd.DataFrame({"u": [1], "i": [1]}).to_csv(tmp_path / "x.csv", index=False)
    (tmp_path / "domain.toml").write_text('''
[items]
path = "i.csv"
id = "id"
title = "title"
[items.derive.price]
from = "price"
regex = '\\$([0-9.]+)'
values = { "Free" = "0", "free to play" = "0" }
[interactions]
path = "x.csv"
user = "u"
item = "i"
''')
    warn = BuildWarnings()
    items = normalise_items(load_config(tmp_path), warn)
    assert items["price"].tolist()[:3] == [12.99, 0.0, 0.0]
    assert pd.isna(items["price"].iloc[3])


def test_store_generator_writes_a_catalog_with_structure(tmp_path: Path) -> None:
    out = tmp_path / "store"
    subprocess.run([sys.executable, str(ROOT / "benchmarks/domains/store/generate.py"), "--out", str(out),
                    "--items", "3000", "--seed", "1"], check=True, capture_output=True)
    cfg = load_config(out)
    warn = BuildWarnings()
    items = normalise_items(cfg, warn)
    assert warn.lines == [] and len(items) == 3000
    tags = items["tags"].str.split("|").explode()
    assert tags.nunique() >= 1000
    assert tags.str.contains(" ").mean() > 0.4 and tags.str.contains("-").mean() > 0.1
    cats = items["categories"].str.split("|").explode()
    assert 15 <= cats.nunique() <= 25 and "Free To Play" in set(cats)
    assert items["developer"].nunique() >= 200
    raw = pd.read_csv(out / "items.csv", dtype=str)
    assert {"Free", "Free To Play"} <= set(raw["price"]) and raw["price"].str.match(r"^\$\d+\.\d\d$").mean() > 0.7
    assert ((items["price"] == 0) == raw["price"].isin(["Free", "Free To Play"])).all()
    assert items["release_date"].str.match(r"^\d{4}-\d\d-\d\d$").all()
    inter = normalise_interactions(cfg, items, BuildWarnings()).frame
    # tastes: a user's items share categories far more often than random pairs of items do
    cat_sets = items["categories"].str.split("|").map(set)
    by_user = inter.groupby("uid")["iid"].apply(list)
    same = [bool(cat_sets[a[i]] & cat_sets[a[i + 1]]) for a in by_user for i in range(len(a) - 1)]
    rand = [bool(cat_sets[a] & cat_sets[b]) for a, b in zip(items.sample(2000, random_state=0).index,
                                                           items.sample(2000, random_state=1).index, strict=True)]
    assert sum(same) / len(same) > 2 * sum(rand) / len(rand)
    pop = inter["iid"].value_counts()
    assert pop.iloc[:30].sum() > 3 * pop.iloc[-30:].sum()  # popularity skew
    assert inter.groupby("uid")["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    # the same seed writes the same files
    again = tmp_path / "again"
    subprocess.run([sys.executable, str(ROOT / "benchmarks/domains/store/generate.py"), "--out", str(again),
                    "--items", "3000", "--seed", "1"], check=True, capture_output=True)
    assert (again / "items.csv").read_bytes() == (out / "items.csv").read_bytes()
