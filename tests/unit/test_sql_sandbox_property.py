"""Property tests: random and hostile SQL never changes the database and never escapes as an exception."""

from __future__ import annotations

import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.item_table import SQLError

KEYWORDS = ["SELECT", "FROM", "WHERE", "items", "movies", "sqlite_master", "DROP", "TABLE", "INSERT", "INTO",
            "VALUES", "UPDATE", "SET", "DELETE", "ATTACH", "DATABASE", "PRAGMA", "WITH", "RECURSIVE", "UNION",
            "ALL", "load_extension", "(", ")", ";", ",", "*", "=", "'x'", "1", "title", "genres", "year", "LIKE",
            "'%Comedy%'", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "--", "/*", "*/", "randomblob(1000000000)",
            "VACUUM", "REINDEX", "CREATE", "INDEX", "TRIGGER", "writable_schema", "count(*)", "GROUP", "HAVING"]

hostile = st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=14).map(" ".join)
anything = st.text(max_size=300)


def _digest(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sql=st.one_of(hostile, anything))
def test_random_sql_is_answered_or_refused_cleanly(ml_domain, sql: str) -> None:  # type: ignore[no-untyped-def]
    db = ml_domain.artifacts / "items.sqlite"
    before = _digest(db)
    try:
        res = ml_domain.table.query(sql, row_cap=5)
        assert len(res.rows) <= 5
        assert "iid" not in res.columns
    except SQLError as e:
        assert str(e)
    assert _digest(db) == before


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sql=st.one_of(hostile, anything), cands=st.lists(st.integers(0, 9741), max_size=50))
def test_random_filters_stay_inside_the_candidates(ml_domain, sql: str, cands: list[int]) -> None:  # type: ignore[no-untyped-def]
    try:
        ids, _ = ml_domain.table.filter_ids(sql, candidates=cands)
    except SQLError:
        return
    assert set(ids) <= set(cands)


def test_table_file_is_not_writable_through_the_engine(ml_domain) -> None:  # type: ignore[no-untyped-def]
    conn = ml_domain.table._conn()
    import sqlite3

    import pytest

    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM items")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("ATTACH DATABASE ':memory:' AS x")
