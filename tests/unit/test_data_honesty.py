"""Nothing silently wrong at build: a schema-checked config, counted coercion warnings, `--strict`,
Unicode titles, joined text as lists (issue 14, items 1-4)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.artifacts import artifacts_dir
from models.build import build_domain
from models.config import SCHEMA, DomainError, load_config
from models.domain import Domain
from models.filter_engine import FilterEngine
from models.resolver import TitleResolver, normalise
from tests.conftest import SHOP


def _shop(tmp_path: Path, edit=None, items: list[dict] | None = None, raw_items: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    dom = tmp_path / "shop"
    shutil.copytree(SHOP, dom)
    if edit is not None:
        cfg = json.loads((dom / "domain.json").read_text())
        edit(cfg)
        (dom / "domain.json").write_text(json.dumps(cfg))
    if items is not None:
        (dom / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    if raw_items is not None:
        (dom / "items.jsonl").write_text(raw_items)
    return dom


def _build(dom: Path, tmp_path: Path, strict: bool = False) -> tuple[Domain, list[str]]:
    cfg = load_config(dom)
    art = artifacts_dir(cfg, tmp_path / "art")
    report = build_domain(cfg, art, progress=False, index=False, strict=strict)
    return Domain(cfg, art), report.warnings


def _items(dom: Path) -> list[dict]:
    return [json.loads(x) for x in (dom / "items.jsonl").read_text().splitlines()]


# ---- 1. config schema ----------------------------------------------------------------------------
@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["items"].update(number=c["items"].pop("numbers")), r"\[items\]: unknown key 'number' \(did you mean 'numbers'\?\)"),
    (lambda c: c["items"].update(titel="name"), r"unknown key 'titel' \(did you mean 'title'\?\)"),
    (lambda c: c["interactions"].update(usr="player"), r"\[interactions\]: unknown key 'usr' \(did you mean 'user'\?\)"),
    (lambda c: c.update(itemword="game"), r"domain.json: unknown key 'itemword' \(did you mean 'item_word'\?\)"),
    (lambda c: c["items"].update(Lists=c["items"].pop("lists")), r"unknown key 'Lists' \(did you mean 'lists'\?\)"),
    (lambda c: c["items"].update(colour="red"), r"unknown key 'colour'; known keys: path, id, title"),
])
def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError, match=message):
        load_config(_shop(tmp_path, edit))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["items"].update(numbers=5), r"\[items\]: 'numbers' must be a string or a list, got int"),
    (lambda c: c["items"].update(numbers=["price", 3]), r"'numbers' must list column names"),
    (lambda c: c["interactions"].update(positive_at="high"), r"'positive_at' must be an integer or a number"),
    (lambda c: c["items"].update(lists={"tags": 1}), r"lists: 'tags' needs a separator string"),
    (lambda c: c["items"].update(derive={"year": {"from": "name", "regex": "(\\d+)", "type": "numbr"}}),
     r"\[items.derive.year\]: 'type' must be one of number, text, got 'numbr' \(did you mean 'number'\?\)"),
    (lambda c: c["items"].update(derive={"year": {"form": "name", "regex": "(\\d+)"}}),
     r"\[items.derive.year\]: unknown key 'form' \(did you mean 'from'\?\)"),
    (lambda c: c["items"].update(join=[{"as": "t", "path": "plays.csv", "key": "game", "column": "player",
                                        "max_value": 3}]), r"#1: unknown key 'max_value' \(did you mean 'max_values'\?\)"),
    (lambda c: c["items"].update(join=[{"as": "t", "path": "plays.csv", "key": "game", "column": "player",
                                        "max_values": "3"}]), r"'max_values' must be an integer, got str"),
    (lambda c: c.update(name=True), r"'name' must be a string, got bool"),
])
def test_wrong_types_name_the_key(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError, match=message):
        load_config(_shop(tmp_path, edit))


def test_the_schema_lists_every_key_the_parser_reads() -> None:
    assert set(SCHEMA["items"]) >= {"path", "id", "title", "lists", "numbers", "derive", "join", "describe"}
    assert load_config(Path("data/movielens")).items.joins[0].name == "tags"  # the bundled configs still pass


def test_cli_names_the_misspelled_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import app

    dom = _shop(tmp_path, lambda c: c["items"].update(number=c["items"].pop("numbers")))
    assert app.run(["build", "--domain", str(dom), "--artifacts", str(tmp_path / "a"), "--quiet", "--no-train"]) == 2
    assert "unknown key 'number' (did you mean 'numbers'?)" in capsys.readouterr().err


# ---- 2. counted coercion warnings ----------------------------------------------------------------
def test_json_list_column_holding_separated_text(tmp_path: Path) -> None:
    rows = _items(SHOP)
    for r in rows[:4]:
        r["tags"] = "|".join(r["tags"])  # "puzzle|multiplayer": not JSON
    dom, warns = _build(_shop(tmp_path, items=rows), tmp_path)
    w = [x for x in warns if "list column 'tags'" in x and "JSON" in x]
    assert len(w) == 1 and "4 value(s) are not a JSON list" in w[0]
    assert any("4 value(s) contain '|', stored with '/' instead" in x for x in warns)
    assert "'puzzle|multiplayer'" in w[0] and 'lists = { tags = "|" }' in w[0]  # the fix is suggested


def test_regex_that_never_matches(tmp_path: Path) -> None:
    dom = _shop(tmp_path, lambda c: c["items"].update(derive={"edition": {"from": "name", "regex": r"\[(\d+)\]"}}))
    d, warns = _build(dom, tmp_path)
    w = [x for x in warns if "derived column 'edition'" in x]
    assert len(w) == 1 and "12 value(s)" in w[0] and "matched no row" in w[0] and "'Portal Quest'" in w[0]
    assert d.items["edition"].isna().all()


def test_non_finite_numbers_become_missing(tmp_path: Path) -> None:
    rows = _items(SHOP)
    rows[0]["price"], rows[1]["price"], rows[2]["price"] = "inf", "-Infinity", "1e999"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy RuntimeWarning reaches the terminal
        d, warns = _build(_shop(tmp_path, items=rows), tmp_path)
    w = [x for x in warns if "non-finite" in x]
    assert len(w) == 1 and "column 'price': 3 non-finite value(s) treated as missing" in w[0]
    prices = d.items["price"].to_numpy()
    assert np.isfinite(prices[~np.isnan(prices)]).all() and np.isnan(prices[:3]).all()
    col = d.schema.get("price")
    assert col is not None and np.isfinite([col.min, col.max, col.mean]).all()
    assert "inf" not in d.schema.prompt()
    under = d.table.query("SELECT name FROM items WHERE price < 10", row_cap=100).rows
    assert {r[0] for r in under}.isdisjoint({rows[0]["name"], rows[1]["name"], rows[2]["name"]})


def test_broken_jsonl_lines_are_skipped_with_their_line_numbers(tmp_path: Path) -> None:
    lines = (SHOP / "items.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]  # truncated object
    lines[6] = "[1, 2, 3]"  # valid JSON, not an object
    d, warns = _build(_shop(tmp_path, raw_items="\n".join(lines) + "\n"), tmp_path)
    w = [x for x in warns if "line(s) that are not a JSON object skipped" in x]
    assert len(w) == 1 and "2 line(s)" in w[0] and w[0].endswith("lines 3, 7")
    assert len(d.items) == 10


def test_skipped_rows_name_their_lines(tmp_path: Path) -> None:
    rows = _items(SHOP)
    rows[4]["name"] = ""
    rows[8]["sku"] = rows[1]["sku"]
    _, warns = _build(_shop(tmp_path, items=rows), tmp_path)
    assert any("1 row(s) without id or title skipped; line 5" in w for w in warns)
    assert any("1 row(s) repeat an earlier id" in w and "line 9" in w for w in warns)
    inter = [w for w in warns if "interactions file plays.csv" in w]
    assert inter and "unknown item id" in inter[0] and "line" in inter[0]


def test_strict_turns_warnings_into_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import app

    dom = _shop(tmp_path)  # the shop has 'Free' prices and one unknown game id
    art = tmp_path / "a"
    assert app.run(["build", "--domain", str(dom), "--artifacts", str(art), "--quiet", "--no-train",
                    "--no-index", "--strict"]) == 2
    err = capsys.readouterr().err
    assert "non-numeric value(s) treated as missing" in err and "--strict" in err
    assert not list(art.rglob("items.sqlite"))  # nothing half-built
    assert app.run(["build", "--domain", str(dom), "--artifacts", str(art), "--quiet", "--no-train", "--no-index"]) == 0
    out = capsys.readouterr().out
    assert "warning: column 'price': 3 non-numeric value(s) treated as missing (e.g. 'Free')" in out
    assert "data warning(s)" in out
    assert app.run(["info", "--domain", str(dom), "--artifacts", str(art)]) == 0
    info = capsys.readouterr().out
    assert "build warnings: 2" in info and "'Free'" in info
    # up to date, but the stored warnings still fail a strict build
    assert app.run(["build", "--domain", str(dom), "--artifacts", str(art), "--quiet", "--no-train",
                    "--no-index", "--strict"]) == 2


# ---- 3. Unicode titles ---------------------------------------------------------------------------
TITLES = ["שְׁלוֹם עֲלֵיכֶם (1990)", "الرسالة (1976)", "千と千尋の神隠し (2001)", "Москва слезам не верит (1980)",
          "Amélie (2001)", "Ｔｏｋｙｏ Ｓｔｏｒｙ (1953)", "Ёжик в тумане (1975)", "Straße der Liebe (1960)",
          "기생충 (2019)", "Toy Story (1995)", "दिलवाले दुल्हनिया ले जाएंगे (1995)", "Ελλάδα (2000)"]


@pytest.mark.parametrize(("query", "want"), [
    ("שלום עליכם", 0),  # unpointed Hebrew finds the pointed title
    ("שְׁלוֹם עֲלֵיכֶם", 0),
    ("الرِّسَالَة", 1),  # Arabic with vowel marks
    ("الرسالة", 1),
    ("الرســالة", 1),  # with a tatweel stretch
    ("千と千尋の神隠し", 2),
    ("千と千尋", 2),  # a prefix
    ("москва слезам не верит", 3),  # Cyrillic case
    ("Москва слезам не верет", 3),  # Cyrillic typo
    ("amelie", 4),
    ("AMÉLIE 2001", 4),
    ("tokyo story", 5),  # full-width Latin (NFKC)
    ("ежик в тумане", 6),  # ё written as е
    ("strasse der liebe", 7),  # ß case-folds to ss
    ("기생충", 8),
    ("दिलवाले दुल्हनिया ले जाएंगे", 10),
    ("ελλαδα", 11),
])
def test_titles_of_every_script_resolve(query: str, want: int) -> None:
    r = TitleResolver(TITLES)
    got = r.resolve(query, k=1)
    assert got and got[0].iid == want and got[0].confidence >= 0.75, (query, got)


def test_normalise_keeps_letters_of_every_script() -> None:
    assert normalise("שְׁלוֹם עֲלֵיכֶם (1990)") == ("שלום עליכם", 1990)
    assert normalise("الرِّسَالَة")[0] == "الرسالة"
    assert normalise("千と千尋の神隠し")[0] == "千と千尋の神隠し"
    assert normalise("Москва, слезам!")[0] == "москва слезам"
    assert normalise("दिलवाले")[0] == "दिलवाले"  # Devanagari vowel signs are letters here: kept
    assert normalise("Matrix, The (1999)") == ("matrix", 1999)


def test_resolve_cli_finds_a_hebrew_title(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import app

    rows = _items(SHOP)
    rows[0]["name"], rows[1]["name"] = "מבוך הזמן", "لعبة الصحراء"
    dom = _shop(tmp_path, items=rows)
    art = tmp_path / "a"
    assert app.run(["build", "--domain", str(dom), "--artifacts", str(art), "--quiet", "--no-train", "--no-index"]) == 0
    capsys.readouterr()
    assert app.run(["resolve", "מבוך הזמן", "--domain", str(dom), "--artifacts", str(art)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1.00  מבוך הזמן"
    assert app.run(["resolve", "لعبة الصحراء", "--domain", str(dom), "--artifacts", str(art)]) == 0
    assert "لعبة الصحراء" in capsys.readouterr().out


# ---- 4. joined text columns are lists ------------------------------------------------------------
def _tagged_shop(tmp_path: Path) -> Path:
    dom = _shop(tmp_path, lambda c: c["items"].update(join=[{"as": "usertags", "path": "usertags.csv", "key": "game",
                                                             "column": "tag", "max_values": 10}]))
    tags = {"G001": ["hard", "hard", "hardcore", "co-op"], "G002": ["hard-boiled", "fast"], "G003": ["Hard"],
            "G004": ["relaxing"]}
    rows = [(g, t) for g, ts in tags.items() for t in ts] + [("G999", "orphan")]
    pd.DataFrame(rows, columns=["game", "tag"]).to_csv(dom / "usertags.csv", index=False)
    return dom


def test_joined_text_is_a_list_in_sql_filter_and_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d, warns = _build(_tagged_shop(tmp_path), tmp_path)
    col = d.schema.get("usertags")
    assert col is not None and col.kind == "list"
    assert set(col.values) == {"hard", "hardcore", "co-op", "hard-boiled", "fast", "relaxing"} and col.distinct == 6
    assert any("join 'usertags'" in w and "1 row(s) with a key not in the item table" in w and w.endswith("line 10")
               for w in warns)
    eq = d.table.query("SELECT name FROM items WHERE usertags = 'hard'", row_cap=50)
    assert sorted(r[0] for r in eq.rows) == ["Portal Quest", "Tower Logic"]  # the element, not a substring
    like = d.table.query("SELECT name FROM items WHERE usertags LIKE '%hard%'", row_cap=50)
    assert len(like.rows) == 3  # LIKE stays a substring match
    neq = d.table.query("SELECT count(*) FROM items WHERE usertags != 'hard'").rows[0][0]
    assert neq == len(d.items) - 2
    fe = FilterEngine(d.items, d.schema)
    hit = fe.filter([("usertags", "=", "hard")])
    assert hit is not None and sorted(d.titles[i] for i in hit) == ["Portal Quest", "Tower Logic"]
    assert d.items.loc[0, "usertags"] == "hard|co-op|hardcore"  # most frequent first
    import app

    assert app.run(["info", "--domain", str(d.config.root), "--artifacts", str(tmp_path / "art")]) == 0
    info = capsys.readouterr().out
    assert "- usertags (list)" in info and "usertags 6 distinct" in info
