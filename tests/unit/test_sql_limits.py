"""The SQL sandbox bounds bytes and time inside one function call, not only rows (issue 14, item 5)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from models.item_table import MAX_OUTPUT_BYTES, MAX_VALUE_BYTES, ItemTable, SQLError

BOMBS = [
    "SELECT printf('%.*c', 1000000000, 'x')",  # 7.7 s and 1.1 GB before
    "SELECT printf('%.1000000000c', 'x')",
    "SELECT printf('%*c%*c', 60000, 'a', 60000, 'b')",
    "SELECT replace(printf('%.1000000d', 0), '0', title) FROM items",  # printed 423 MB before
    "SELECT replace(printf('%.90000d', 0), '0', title) FROM items",
    "SELECT length(replace(printf('%.*c', 99000, 'a'), 'a', printf('%.*c', 99000, 'a')))",
    "SELECT instr(printf('%.*c', 99000, 'a'), printf('%.*c', 49500, 'a') || 'b') FROM items",
    "SELECT printf('%.*c', 99000, 'a') LIKE '%' || printf('%.*c', 990, 'a') || 'b%' FROM items",
    "SELECT group_concat(title || title || title || title) FROM items",
    "SELECT a.title FROM items a, items b, items c WHERE a.title || b.title = c.title",
    "SELECT printf('%.*c', popularity * 100000, 'x') FROM items ORDER BY popularity DESC",
]


@pytest.mark.parametrize("sql", BOMBS)
def test_bombs_are_bounded_in_time_and_bytes(ml_domain, sql: str) -> None:  # type: ignore[no-untyped-def]
    table = ml_domain.table
    t = time.perf_counter()
    try:
        res = table.query(sql, row_cap=50)
        size = sum(len(v) for r in res.rows for v in r if isinstance(v, str))
        assert size <= MAX_OUTPUT_BYTES
    except SQLError as e:
        assert "limit" in str(e) or "longer than" in str(e)
    assert time.perf_counter() - t < table.time_limit_s + 1.0


def test_sqlite_length_limit_is_set(ml_domain) -> None:  # type: ignore[no-untyped-def]
    conn = ml_domain.table._conn()
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == MAX_VALUE_BYTES
    with pytest.raises(SQLError, match="100,000"):
        ml_domain.table.query("SELECT printf('%.*c', 200000, 'x')")


def test_output_byte_cap_cuts_rows_and_says_so(ml_domain) -> None:  # type: ignore[no-untyped-def]
    res = ml_domain.table.query("SELECT printf('%.*c', 90000, 'x') AS big FROM items", row_cap=50)
    assert res.truncated and 0 < len(res.rows) < 50
    assert sum(len(r[0]) for r in res.rows) <= MAX_OUTPUT_BYTES
    assert any("output capped" in n for n in res.notes)


def test_normal_printf_still_works(ml_domain) -> None:  # type: ignore[no-untyped-def]
    res = ml_domain.table.query("SELECT printf('%s (%d) %5.1f%%', title, year, 12.345) FROM items WHERE year = 1995 LIMIT 1")
    assert res.rows[0][0].endswith("(1995)  12.3%")


def test_time_limit_holds_for_many_rows(ml_domain) -> None:  # type: ignore[no-untyped-def]
    slow = ItemTable(ml_domain.table.db_path, ml_domain.schema, time_limit_s=0.3)
    t = time.perf_counter()
    with pytest.raises(SQLError, match="longer than 0.3s"):
        slow.query("SELECT count(*) FROM items a, items b WHERE instr(a.title, b.title) > 0")
    assert time.perf_counter() - t < 1.0


@pytest.mark.parametrize("cap", [-1, 0, 10_001])
def test_bad_row_caps_are_refused(ml_domain, cap: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SQLError, match="row limit must be between 1 and 10,000"):
        ml_domain.table.query("SELECT title FROM items", row_cap=cap)


@pytest.mark.parametrize("limit", ["-1", "0", "abc", "10001"])
def test_cli_limit_is_validated(ml_domain, limit: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import app

    with pytest.raises(SystemExit) as e:
        app.run(["sql", "SELECT title FROM items", "--limit", limit, "--domain", str(ml_domain.config.root),
                 "--artifacts", str(ml_domain.artifacts.parent)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--limit" in err and "Traceback" not in err


def test_cli_limit_caps_and_reports(ml_domain, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import app

    assert app.run(["sql", "SELECT title FROM items", "--limit", "3", "--domain", str(ml_domain.config.root),
                    "--artifacts", str(ml_domain.artifacts.parent)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[-1] == "... more rows (capped at 3)"
