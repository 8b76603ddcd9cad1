"""The SQL engine accepts one repaired SELECT over the item table and refuses everything else."""

from __future__ import annotations

import hashlib

import pytest

from models.item_table import SQLError


def _digest(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("sql", [
    "DELETE FROM items",
    "UPDATE items SET title = 'x'",
    "INSERT INTO items (title) VALUES ('x')",
    "DROP TABLE items",
    "CREATE TABLE t (a)",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "PRAGMA table_info(items)",
    "PRAGMA writable_schema = 1",
    "SELECT title FROM items; DROP TABLE items",
    "SELECT 1; SELECT 2",
    "SELECT * FROM sqlite_master",
    "SELECT name FROM sqlite_schema",
    "SELECT load_extension('x')",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT n FROM r",
    "SELECT * INTO other FROM items",
    "VACUUM",
    "",
    "   ;  ",
    "SELECT FROM WHERE",
    "SELECT unknown_thing_xyz FROM items",
])
def test_rejected(ml_domain, sql: str) -> None:  # type: ignore[no-untyped-def]
    before = _digest(ml_domain.artifacts / "items.sqlite")
    with pytest.raises(SQLError) as e:
        ml_domain.table.query(sql)
    msg = str(e.value)
    assert len(msg) < 400
    if sql.strip(" ;"):
        assert "items(" in msg or "too long" in msg  # schema hint
    assert _digest(ml_domain.artifacts / "items.sqlite") == before


def test_list_column_like_and_snapping(ml_domain) -> None:  # type: ignore[no-untyped-def]
    res = ml_domain.table.query("SELECT title, genres FROM movie WHERE genre LIKE '%sci-fi%' AND year < 1970", row_cap=500)
    assert res.rows and all("Sci-Fi" in r[1] for r in res.rows)
    assert any("genres" in n for n in res.notes)
    eq = ml_domain.table.query("SELECT title FROM items WHERE genres = 'Comedy' AND year = 1995", row_cap=1000)
    like = ml_domain.table.query("SELECT title FROM items WHERE genres LIKE '%Comedy%' AND year = 1995", row_cap=1000)
    assert eq.rows == like.rows and len(eq.rows) > 50


def test_row_cap_and_hidden_ids(ml_domain) -> None:  # type: ignore[no-untyped-def]
    res = ml_domain.table.query("SELECT * FROM items", row_cap=7)
    assert len(res.rows) == 7 and res.truncated
    assert "iid" not in res.columns and "id" not in res.columns
    with pytest.raises(SQLError, match="internal"):
        ml_domain.table.query("SELECT iid FROM items")


def test_time_limit(ml_domain) -> None:  # type: ignore[no-untyped-def]
    from models.item_table import ItemTable

    slow = ItemTable(ml_domain.table.db_path, ml_domain.schema, time_limit_s=0.05)
    with pytest.raises(SQLError, match="longer than"):
        slow.query("SELECT count(*) FROM items a, items b, items c WHERE a.year + b.year > c.year")


def test_filter_ids_over_candidates(ml_domain) -> None:  # type: ignore[no-untyped-def]
    cands = list(range(0, 9000, 3))
    ids, _ = ml_domain.table.filter_ids("SELECT * FROM items WHERE year > 2000", candidates=cands)
    assert ids and set(ids) <= set(cands)
    years = ml_domain.items.loc[ids, "year"]
    assert (years > 2000).all()
    assert ml_domain.table.filter_ids("SELECT * FROM items WHERE year > 2000", candidates=[])[0] == []


def test_rows_for_keeps_order(ml_domain) -> None:  # type: ignore[no-untyped-def]
    rows = ml_domain.table.rows_for([5, 0, 3], ["title"])
    assert [r["title"] for r in rows] == [ml_domain.titles[i] for i in (5, 0, 3)]
