"""The item table engine behind the SQL tools: one SELECT over one table, read-only, capped, timed.

LLM-written SQL is parsed with sqlglot, checked, and repaired before it runs: unknown columns are snapped
to the nearest real column, categorical values to the nearest existing value, and `kind = 'Comedy'` on
a list column becomes `kind LIKE '%Comedy%'`. SQLite then runs it on a read-only connection with an
authorizer that allows only reads of the item table, so even a parser gap cannot write or attach.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
from rapidfuzz import fuzz, process
from sqlglot import exp

from models.table_schema import TABLE, Column, TableSchema

LIST_SEP = "|"  # how list cells are stored ("a|b|c"); models.catalog writes them
HIDDEN = ("iid", "id")  # internal/user ids never reach the LLM
SAFE_FUNCTIONS = {
    "abs", "avg", "coalesce", "count", "group_concat", "ifnull", "instr", "length", "like", "lower", "ltrim",
    "max", "min", "nullif", "replace", "round", "rtrim", "substr", "substring", "sum", "total", "trim",
    "upper", "glob", "cast", "iif", "printf", "random",
}
MAX_VALUE_BYTES = 100_000  # SQLite's length limit: no string, blob or row may grow past this
MAX_OUTPUT_BYTES = 256_000  # all the text one query may return (the LLM reads a few rows anyway)
MAX_ROW_CAP = 10_000  # the most rows a caller may ask for
LIMITS = {  # engine-level limits (Connection.setlimit): bound what one call can build, whatever the SQL
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 20_000,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,  # LIKE/GLOB cost grows with pattern x text length
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 10,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 32,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
}
_PRINTF_SPEC = re.compile(r"%[-+ 0#,!]*(\*|\d+)?(?:\.(\*|\d+))?(l{0,2}[a-zA-Z%])")
FORBIDDEN_NODES = (exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Create, exp.Alter, exp.Command,
                   exp.Pragma, exp.Attach, exp.Detach, exp.Transaction, exp.Commit, exp.Rollback, exp.With,
                   exp.Into)


class SQLError(Exception):
    """A query the engine refuses or cannot run; the message is short and ends with a schema hint."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    notes: list[str]
    sql: str

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=False)) for r in self.rows]


def _has_element(col: exp.Column, value: str, negate: bool = False) -> exp.Expression:
    """`instr('|' || lower(col) || '|', '|value|') > 0`: exact membership in a "a|b|c" list cell."""
    sep = exp.Literal.string(LIST_SEP)
    cell = exp.DPipe(this=exp.DPipe(this=sep, expression=exp.Lower(this=col.copy())), expression=sep.copy())
    needle = exp.Literal.string(f"{LIST_SEP}{value.lower()}{LIST_SEP}")
    found = exp.GT(this=exp.Anonymous(this="instr", expressions=[cell, needle]), expression=exp.Literal.number(0))
    if not negate:
        return exp.paren(found)
    return exp.paren(exp.or_(exp.Is(this=col.copy(), expression=exp.Null()), exp.Not(this=exp.paren(found))))


def _size(v: Any) -> int:
    return len(v) if isinstance(v, str | bytes) else 8


def _fetch(cur: sqlite3.Cursor, cap: int | None, max_bytes: int | None) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows up to `cap` (and one more to know there were more) and `max_bytes` of values in all; a row
    that would cross the byte cap is cut to fit, so even one huge value cannot flood the caller."""
    rows: list[tuple[Any, ...]] = []
    used = 0
    while True:
        batch = cur.fetchmany(100)
        if not batch:
            return rows, False
        for row in batch:
            if cap and len(rows) >= cap:
                return rows, True
            size = sum(_size(v) for v in row)
            if max_bytes is not None and used + size > max_bytes:
                left = max(0, max_bytes - used)
                if left > 0:
                    rows.append(tuple(v[: left // max(1, len(row))] if isinstance(v, str | bytes) else v for v in row))
                return rows, True
            used += size
            rows.append(row)


def _authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
    if action == sqlite3.SQLITE_SELECT:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ:
        return sqlite3.SQLITE_OK if arg1 == TABLE else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_OK if (arg2 or "").lower() in SAFE_FUNCTIONS else sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_DENY


def _printf_too_big(fmt: object, args: tuple[Any, ...]) -> bool:
    """True when a printf width or precision asks for more than MAX_VALUE_BYTES characters. SQLite's
    printf honours its length limit only by returning NULL at the end: `%.1000000000c` still loops a
    billion times inside one call, where no progress handler can stop it."""
    if not isinstance(fmt, str):
        return False
    i = 0
    total = 0
    for m in _PRINTF_SPEC.finditer(fmt):
        for part in (m.group(1), m.group(2)):
            if part == "*":
                v = args[i] if i < len(args) else 0
                i += 1
                try:
                    n = abs(int(float(v))) if v is not None else 0
                except (TypeError, ValueError, OverflowError):
                    n = 0
            else:
                n = int(part) if part else 0
            total += n
        if m.group(3) != "%":
            i += 1
    return total > MAX_VALUE_BYTES


class ItemTable:
    """Read-only SQL access to one domain's item table (one connection per thread)."""

    def __init__(self, db_path: Path, schema: TableSchema, row_cap: int = 50, time_limit_s: float = 2.0):
        self.db_path = Path(db_path)
        self.schema = schema
        self.row_cap = row_cap
        self.time_limit_s = time_limit_s
        self._local = threading.local()
        self._cols = {c.name.lower(): c.name for c in schema.columns}
        self._cols.update({k.lower(): v for k, v in schema.column_aliases.items() if k.lower() not in self._cols})
        self._all_cols = {**self._cols, **{h: h for h in HIDDEN}}
        self._tables = {TABLE, *(a.lower() for a in schema.aliases)}
        self.overruns = 0  # queries that ran past time_limit_s + 0.5 s (should stay 0; the tests check)

    # ---- connection -------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            for limit, value in LIMITS.items():
                conn.setlimit(limit, value)
            plain = sqlite3.connect(":memory:", check_same_thread=False)  # SQLite's own printf, unguarded
            plain.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)

            def printf(fmt: object, *args: Any) -> Any:
                if _printf_too_big(fmt, args):
                    raise ValueError("printf width or precision over the length limit")
                marks = ",".join("?" * (len(args) + 1))
                return plain.execute(f"SELECT printf({marks})", (fmt, *args)).fetchone()[0]

            conn.create_function("printf", -1, printf, deterministic=True)
            conn.set_authorizer(_authorizer)
            self._local.conn = conn
        return conn

    def _run(self, sql: str, params: tuple[Any, ...] = (), cap: int | None = None,
             max_bytes: int | None = None) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        """Run one checked statement under the time limit; at most `cap` rows and `max_bytes` of text."""
        conn = self._conn()
        deadline = time.monotonic() + self.time_limit_s
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
        hint = self.schema.hint()
        try:
            cur = conn.execute(sql, params)
            cols = [d[0] for d in cur.description or []]
            rows, truncated = _fetch(cur, cap, max_bytes)
            cur.close()
        except sqlite3.OperationalError as e:
            if "interrupted" in str(e):
                raise SQLError(f"query took longer than {self.time_limit_s:g}s and was stopped; "
                               f"add conditions or a LIMIT. {hint}") from None
            if "user-defined function raised exception" in str(e):
                raise SQLError(f"a value in the query would be longer than {MAX_VALUE_BYTES:,} characters. "
                               f"{hint}") from None
            raise SQLError(f"SQL error: {e}. {hint}") from None
        except sqlite3.DataError as e:  # "string or blob too big": the length limit
            raise SQLError(f"a value in the query grew over the {MAX_VALUE_BYTES:,}-byte limit ({e}). "
                           f"{hint}") from None
        except sqlite3.DatabaseError as e:
            raise SQLError(f"SQL refused: {e}. {hint}") from None
        finally:
            conn.set_progress_handler(None, 0)
        if time.monotonic() > deadline + 0.5:  # a single call ran past the limit: say so, keep the rows
            self.overruns += 1
        return cols, rows, truncated

    # ---- validation and repair --------------------------------------------------------------------
    def check(self, sql: str, allow_hidden: bool = False) -> tuple[exp.Select, list[str]]:
        """Parse, validate and repair one SELECT; returns the tree and notes on what was changed."""
        try:
            return self._check(sql, allow_hidden)
        except SQLError:
            raise
        except Exception as e:  # noqa: BLE001 - a parser corner case must still be a clean refusal
            raise SQLError(f"could not understand the query ({type(e).__name__}). {self.schema.hint()}") from None

    def _check(self, sql: str, allow_hidden: bool) -> tuple[exp.Select, list[str]]:
        text = (sql or "").strip().rstrip(";").strip()
        if not text:
            raise SQLError(f"empty query. {self.schema.hint()}")
        if len(text) > 4000:
            raise SQLError("query too long (over 4000 characters)")
        try:
            trees = [t for t in sqlglot.parse(text, read="sqlite") if t is not None]
        except sqlglot.errors.SqlglotError as e:
            raise SQLError(f"could not parse SQL: {str(e).splitlines()[0][:160]}. {self.schema.hint()}") from None
        if len(trees) != 1:
            raise SQLError(f"exactly one SELECT statement is allowed. {self.schema.hint()}")
        tree = trees[0]
        if not isinstance(tree, exp.Select):
            raise SQLError(f"only SELECT queries are allowed. {self.schema.hint()}")
        if not tree.expressions:
            raise SQLError(f"SELECT needs at least one column. {self.schema.hint()}")
        for node in tree.walk():
            if isinstance(node, FORBIDDEN_NODES):
                raise SQLError(f"{type(node).__name__.upper()} is not allowed; write one plain SELECT. "
                               f"{self.schema.hint()}")
            if isinstance(node, exp.Anonymous) and str(node.name).lower() not in SAFE_FUNCTIONS:
                raise SQLError(f"function {node.name}() is not allowed. {self.schema.hint()}")
        notes: list[str] = []
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if name not in self._tables:
                raise SQLError(f"unknown table '{table.name}': only `{TABLE}` can be queried. {self.schema.hint()}")
            if table.name != TABLE:
                table.set("this", exp.to_identifier(TABLE))
        aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
        qualifiers = self._tables | {t.alias.lower() for t in tree.find_all(exp.Table) if t.alias}
        for col in list(tree.find_all(exp.Column)):
            self._snap_column(col, aliases, qualifiers, allow_hidden, notes)
        self._snap_values(tree, notes)
        return tree, notes

    def _snap_column(self, col: exp.Column, aliases: set[str], qualifiers: set[str], allow_hidden: bool,
                     notes: list[str]) -> None:
        name = col.name
        low = name.lower()
        known = self._all_cols if allow_hidden else self._cols
        if col.table and col.table.lower() not in qualifiers:
            col.set("table", None)
        if low in known:
            if known[low] != name:
                col.set("this", exp.to_identifier(known[low]))
            return
        if low in aliases or isinstance(col.this, exp.Star):
            return
        if low in HIDDEN:
            raise SQLError(f"column '{name}' is internal; use title. {self.schema.hint()}")
        best = process.extractOne(low, [c.name for c in self.schema.columns], scorer=fuzz.WRatio, score_cutoff=70)
        if best is None:
            raise SQLError(f"unknown column '{name}'. {self.schema.hint()}")
        real = best[0]
        col.set("this", exp.to_identifier(real))
        notes.append(f"column '{name}' read as '{real}'")

    def _snap_value(self, column: Column, value: str) -> str | None:
        if not column.values:
            return value
        lowered = {v.lower(): v for v in column.values}
        if value.lower() in lowered:
            return lowered[value.lower()]
        best = process.extractOne(value.lower(), list(lowered), scorer=fuzz.WRatio, score_cutoff=80)
        return lowered[best[0]] if best else None

    def _snap_values(self, tree: exp.Expression, notes: list[str]) -> None:
        for node in list(tree.find_all(exp.Like, exp.ILike, exp.EQ, exp.NEQ)):
            col, lit = node.this, node.expression
            if not (isinstance(col, exp.Column) and isinstance(lit, exp.Literal) and lit.is_string):
                continue
            meta = self.schema.get(col.name)
            if meta is None or meta.kind not in ("list", "text"):
                continue
            raw = lit.this
            core = raw.strip("%")
            snapped = self._snap_value(meta, core) if meta.values else core
            if snapped is not None and snapped != core:
                notes.append(f"value '{core}' read as '{snapped}' in {meta.name}")
            if meta.kind == "list" and isinstance(node, exp.EQ | exp.NEQ):
                # '=' on a list means "has this element": the whole value between separators, any case
                value = snapped if snapped is not None else core
                negate = isinstance(node, exp.NEQ)
                node.replace(_has_element(col, value, negate=negate))
                notes.append(f"{meta.name} is a list: {'!=' if negate else '='} read as "
                             f"'{'does not have' if negate else 'has'} the value {value}'")
            elif snapped is not None:
                lit.set("this", raw.replace(core, snapped) if core else raw)

    # ---- public API -------------------------------------------------------------------------------
    def query(self, sql: str, row_cap: int | None = None) -> QueryResult:
        """Look-up over the full table; rows are for the LLM, so internal ids are dropped."""
        if row_cap is not None and not 1 <= row_cap <= MAX_ROW_CAP:
            raise SQLError(f"the row limit must be between 1 and {MAX_ROW_CAP:,}, got {row_cap}")
        tree, notes = self.check(sql)
        cap = row_cap or self.row_cap
        if isinstance(tree.expressions[0], exp.Star) and len(tree.expressions) == 1:
            tree.set("expressions", [exp.column(c) for c in self.schema.names()])
        final = tree.sql(dialect="sqlite")
        cols, rows, truncated = self._run(final, cap=cap, max_bytes=MAX_OUTPUT_BYTES)
        if truncated and len(rows) < cap:
            notes.append(f"output capped at {MAX_OUTPUT_BYTES:,} bytes")
        keep = [i for i, c in enumerate(cols) if c not in HIDDEN]
        return QueryResult([cols[i] for i in keep], [tuple(r[i] for i in keep) for r in rows], truncated, notes, final)

    def filter_ids(self, sql: str, candidates: list[int] | None = None, cap: int = 5000) -> tuple[list[int], list[str]]:
        """Hard filter: the iids that satisfy the query's WHERE, restricted to `candidates` when given."""
        tree, notes = self.check(sql)
        where = tree.args.get("where")
        cond = where.this.sql(dialect="sqlite") if where is not None else "1"
        if candidates is not None:
            # Built as text: parsing a 1000-number IN list with sqlglot would cost more than the query.
            ids = ",".join(str(int(i)) for i in candidates) or "-1"
            cond = f"({cond}) AND iid IN ({ids})"
        order = tree.args.get("order")
        final = f"SELECT iid FROM {TABLE} WHERE {cond}" + (f" {order.sql(dialect='sqlite')}" if order is not None else "")
        _, rows, _ = self._run(final, cap=cap)
        return [int(r[0]) for r in rows], notes

    def rows_for(self, iids: list[int], columns: list[str] | None = None) -> list[dict[str, Any]]:
        """Attribute rows for given items, in the given order (for the reply writer and explanations)."""
        if not iids:
            return []
        cols = columns or ["title", *[c for c in self.schema.names() if c != "title"]]
        qcols = ", ".join(f'"{c}"' for c in ["iid", *cols])
        ids = ",".join(str(int(i)) for i in iids)
        names, rows, _ = self._run(f"SELECT {qcols} FROM {TABLE} WHERE iid IN ({ids})")
        by_id = {r[0]: dict(zip(names[1:], r[1:], strict=False)) for r in rows}
        return [by_id[i] for i in iids if i in by_id]
