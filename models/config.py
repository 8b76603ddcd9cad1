"""Domain config: maps a user's own item table and interaction log onto interec's schema.

A domain is a folder holding a `domain.toml` (or `domain.json`) and the files it names. Everything is
validated up front so a bad config fails with one message that names the problem, never a traceback.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_NAMES = ("domain.toml", "domain.json")
SUPPORTED_FORMATS = ("csv", "tsv", "parquet", "jsonl")
RESERVED = {"iid", "id", "title", "popularity"}


class DomainError(Exception):
    """A problem with a domain's config or data, phrased for the person who wrote the config."""


@dataclass(frozen=True)
class Derived:
    """A column computed from another one by a regex capture group (e.g. year from "Toy Story (1995)")."""

    name: str
    source: str
    regex: str
    kind: str = "number"  # number | text
    values: dict[str, str] = field(default_factory=dict)  # whole source value (any case) -> result, before regex


@dataclass(frozen=True)
class Lookup:
    """An id -> name table a join reads its values through (e.g. Last.fm tagID -> tag name)."""

    path: Path
    key: str
    column: str


@dataclass(frozen=True)
class Join:
    """Extra per-item text aggregated from another file (e.g. MovieLens user tags)."""

    name: str
    path: Path
    key: str
    column: str
    max_values: int = 30
    lookup: Lookup | None = None  # `column` holds ids that this table turns into names


@dataclass(frozen=True)
class ItemsConfig:
    path: Path
    id: str
    title: str
    text: tuple[str, ...] = ()
    lists: dict[str, str] = field(default_factory=dict)  # column -> separator, or "json"
    numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    derive: tuple[Derived, ...] = ()
    joins: tuple[Join, ...] = ()
    null_values: tuple[str, ...] = ()
    describe: dict[str, str] = field(default_factory=dict)

    @property
    def attribute_columns(self) -> list[str]:
        """User-facing attribute columns in a stable order (after id and title)."""
        cols = list(self.lists) + list(self.numbers) + [d.name for d in self.derive]
        cols += list(self.dates) + list(self.text) + [j.name for j in self.joins]
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class InteractionsConfig:
    path: Path
    user: str
    item: str
    time: str | None = None
    rating: str | None = None
    positive_at: float | None = None


@dataclass(frozen=True)
class DomainConfig:
    root: Path
    config_path: Path
    name: str
    item_word: str
    description: str
    items: ItemsConfig
    interactions: InteractionsConfig
    item_plural: str = ""  # "" -> item_word + "s"
    # How requests are read (graph/understand/): synonyms, units, time_column, low/high words. Domain
    # words live here, never in code.
    understanding: dict[str, Any] = field(default_factory=dict)

    @property
    def items_word(self) -> str:
        return self.item_plural or f"{self.item_word}s"

    def describe(self, column: str) -> str:
        return self.items.describe.get(column, column.replace("_", " "))

    def input_files(self) -> list[Path]:
        files = [self.config_path, self.items.path, self.interactions.path]
        files += [j.path for j in self.items.joins]
        return files + [j.lookup.path for j in self.items.joins if j.lookup]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def find_config(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if p.is_file():
        return p.resolve()
    if not p.exists():
        raise DomainError(f"domain folder not found: {p}")
    for name in CONFIG_NAMES:
        if (p / name).is_file():
            return (p / name).resolve()
    raise DomainError(f"no domain config in {p}: expected one of {', '.join(CONFIG_NAMES)}")


# ---- the config schema: one line per key ------------------------------------------------------------
# Each section maps key -> (accepted types, required). A new key is one line here; `validate_raw` then
# refuses unknown keys with a "did you mean" and wrong types with the key's full name.
STR, NUM, INT, TABLE_T, LIST_T = (str,), (int, float), (int,), (dict,), (list,)
COLUMNS = (str, list)  # one column name or a list of them
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "": {"name": (STR, False), "item_word": (STR, False), "item_plural": (STR, False), "description": (STR, False),
         "items": (TABLE_T, True), "interactions": (TABLE_T, True), "understanding": (TABLE_T, False)},
    "items": {"path": (STR, True), "id": (STR, True), "title": (STR, True), "text": (COLUMNS, False),
              "lists": ((dict, list), False), "numbers": (COLUMNS, False), "dates": (COLUMNS, False),
              "derive": (TABLE_T, False), "join": (LIST_T, False), "null_values": (COLUMNS, False),
              "describe": (TABLE_T, False), "format": (STR, False), "encoding": (STR, False)},
    "items.derive.*": {"from": (STR, True), "regex": (STR, True), "type": (STR, False), "values": (TABLE_T, False)},
    "items.join": {"as": (STR, True), "path": (STR, True), "key": (STR, True), "column": (STR, True),
                   "max_values": (INT, False), "format": (STR, False), "encoding": (STR, False),
                   "lookup": (TABLE_T, False)},
    "interactions": {"path": (STR, True), "user": (STR, True), "item": (STR, True), "time": (STR, False),
                     "rating": (STR, False), "positive_at": (NUM, False), "format": (STR, False),
                     "encoding": (STR, False)},
}
CHOICES = {("items.derive.*", "type"): ("number", "text")}
_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", dict: "a table", list: "a list"}


def did_you_mean(word: str, known: list[str]) -> str:
    """' (did you mean 'numbers'?)' for the closest known key, or '' when none is close."""
    import difflib

    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if not close:  # a different case or a missing/extra plural 's' is still a likely typo
        close = [k for k in known if k.lower() in (word.lower(), word.lower().rstrip("s"), word.lower() + "s")][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_section(section: dict[str, Any], spec_name: str, where: str) -> None:
    spec = SCHEMA[spec_name]
    for key, value in section.items():
        if key not in spec:
            raise DomainError(f"{where}: unknown key '{key}'{did_you_mean(str(key), list(spec))}; "
                              f"known keys: {', '.join(spec)}")
        types, _ = spec[key]
        if isinstance(value, bool) or not isinstance(value, types):
            want = " or ".join(_TYPE_WORDS[t] for t in types)
            raise DomainError(f"{where}: '{key}' must be {want}, got {type(value).__name__} {value!r:.60}")
        choices = CHOICES.get((spec_name, key))
        if choices and value not in choices:
            raise DomainError(f"{where}: '{key}' must be one of {', '.join(choices)}, got {value!r}"
                              f"{did_you_mean(str(value), list(choices))}")
        if isinstance(value, list) and types != LIST_T and not all(isinstance(v, str) for v in value):
            raise DomainError(f"{where}: '{key}' must list column names (strings), got {value!r:.60}")
    for key, (_, required) in spec.items():
        if required and section.get(key) in (None, ""):
            raise DomainError(f"{where}: missing required key '{key}'")


def validate_raw(raw: dict[str, Any], name: str) -> None:
    """Check every key of a parsed config against SCHEMA; raises DomainError naming the first problem."""
    _check_section(raw, "", name)
    items = raw["items"]
    _check_section(items, "items", "[items]")
    for dname, spec in (items.get("derive") or {}).items():
        if not isinstance(spec, dict):
            raise DomainError(f"[items.derive.{dname}]: expected a table with 'from' and 'regex'")
        _check_section(spec, "items.derive.*", f"[items.derive.{dname}]")
    for i, spec in enumerate(items.get("join") or []):
        if not isinstance(spec, dict):
            raise DomainError(f"[[items.join]] #{i + 1}: expected a table with 'as', 'path', 'key', 'column'")
        _check_section(spec, "items.join", f"[[items.join]] #{i + 1}")
    lists = items.get("lists")
    if isinstance(lists, dict):
        for col, sep in lists.items():
            if not isinstance(sep, str) or not sep:
                raise DomainError(f"[items] lists: '{col}' needs a separator string (or \"json\"), got {sep!r}")
    for key in ("describe",):
        for col, text in (items.get(key) or {}).items():
            if not isinstance(text, str):
                raise DomainError(f"[items.{key}]: '{col}' must be a string, got {text!r:.60}")
    _check_section(raw["interactions"], "interactions", "[interactions]")


def _read_raw(cfg_path: Path) -> dict[str, Any]:
    try:
        if cfg_path.suffix == ".json":
            data = json.loads(cfg_path.read_text(encoding="utf-8"))
        else:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        raise DomainError(f"{cfg_path.name} is not valid {cfg_path.suffix[1:].upper()}: {e}") from None
    if not isinstance(data, dict):
        raise DomainError(f"{cfg_path.name} must hold a table/object at top level")
    return data


def _need(section: dict[str, Any], key: str, where: str) -> Any:
    if key not in section or section[key] in (None, ""):
        raise DomainError(f"{where}: missing required key '{key}'")
    return section[key]


def _as_tuple(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DomainError(f"{where}: expected a list of column names, got {value!r}")


def _file(root: Path, rel: Any, where: str, fmt: str | None = None) -> Path:
    if not isinstance(rel, str):
        raise DomainError(f"{where}: 'path' must be a string")
    p = (root / rel).resolve()
    if not p.is_file():
        raise DomainError(f"{where}: file not found: {rel} (looked in {root})")
    fmt = fmt or file_format(p)
    if fmt not in SUPPORTED_FORMATS:
        raise DomainError(f"{where}: unsupported file type '{p.suffix}' for {rel}; use CSV, TSV, Parquet or JSON-lines")
    return p


_FORMATS: dict[Path, str] = {}  # files whose config names a `format` (e.g. tab-separated ".dat")
ENCODINGS: dict[Path, str] = {}  # files whose config names an `encoding` (default UTF-8)


def _path(root: Path, section: dict[str, Any], where: str) -> Path:
    """A section's `path`, with optional `format` (csv|tsv|parquet|jsonl) and `encoding` (e.g. latin-1)."""
    fmt, enc = section.get("format"), section.get("encoding")
    if fmt is not None and fmt not in SUPPORTED_FORMATS:
        raise DomainError(f"{where}: format must be one of {', '.join(SUPPORTED_FORMATS)}, got {fmt!r}")
    p = _file(root, _need(section, "path", where), where, fmt)
    if fmt:
        _FORMATS[p] = fmt
    if enc:
        try:
            ENCODINGS[p] = codecs.lookup(str(enc)).name
        except LookupError:
            raise DomainError(f"{where}: unknown encoding {enc!r}") from None
    return p


def file_format(p: Path) -> str:
    if p in _FORMATS:
        return _FORMATS[p]
    suffix = p.suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv", "tsv": "tsv",
            "parquet": "parquet", "pq": "parquet"}.get(suffix, suffix)


def _parse_items(root: Path, raw: dict[str, Any]) -> ItemsConfig:
    where = "[items]"
    path = _path(root, raw, where)
    lists_raw = raw.get("lists") or {}
    if isinstance(lists_raw, list):
        lists_raw = {c: "json" for c in lists_raw}
    if not isinstance(lists_raw, dict):
        raise DomainError(f"{where}: 'lists' must map column -> separator (or \"json\")")
    derive = []
    for name, spec in (raw.get("derive") or {}).items():
        if not isinstance(spec, dict):
            raise DomainError(f"[items.derive.{name}]: expected a table with 'from' and 'regex'")
        regex = _need(spec, "regex", f"[items.derive.{name}]")
        try:
            if re.compile(regex).groups < 1:
                raise DomainError(f"[items.derive.{name}]: regex needs one capture group")
        except re.error as e:
            raise DomainError(f"[items.derive.{name}]: bad regex: {e}") from None
        values = {str(k).lower(): str(v) for k, v in (spec.get("values") or {}).items()}
        derive.append(Derived(name, _need(spec, "from", f"[items.derive.{name}]"), regex,
                              spec.get("type", "number"), values))
    joins = []
    for i, spec in enumerate(raw.get("join") or []):
        w = f"[[items.join]] #{i + 1}"
        lookup = None
        if isinstance(lk := spec.get("lookup"), dict):
            lw = f"{w} lookup"
            lookup = Lookup(_path(root, lk, lw), _need(lk, "key", lw), _need(lk, "column", lw))
        joins.append(Join(_need(spec, "as", w), _path(root, spec, w), _need(spec, "key", w),
                          _need(spec, "column", w), int(spec.get("max_values", 30)), lookup))
    cfg = ItemsConfig(
        path=path, id=_need(raw, "id", where), title=_need(raw, "title", where),
        text=_as_tuple(raw.get("text"), f"{where} text"), lists={str(k): str(v) for k, v in lists_raw.items()},
        numbers=_as_tuple(raw.get("numbers"), f"{where} numbers"), dates=_as_tuple(raw.get("dates"), f"{where} dates"),
        derive=tuple(derive), joins=tuple(joins), null_values=_as_tuple(raw.get("null_values"), f"{where} null_values"),
        describe={str(k): str(v) for k, v in (raw.get("describe") or {}).items()},
    )
    for col in cfg.attribute_columns:
        if not _IDENT.match(col):
            raise DomainError(f"{where}: column name '{col}' must be a plain identifier (letters, digits, _)")
        if col in RESERVED:
            raise DomainError(f"{where}: column name '{col}' is reserved; rename it with a derived column")
    return cfg


def _parse_interactions(root: Path, raw: dict[str, Any]) -> InteractionsConfig:
    where = "[interactions]"
    pos = raw.get("positive_at")
    if pos is not None and not isinstance(pos, int | float):
        raise DomainError(f"{where}: 'positive_at' must be a number")
    if pos is not None and not raw.get("rating"):
        raise DomainError(f"{where}: 'positive_at' needs a 'rating' column")
    return InteractionsConfig(
        path=_path(root, raw, where), user=_need(raw, "user", where),
        item=_need(raw, "item", where), time=raw.get("time") or None, rating=raw.get("rating") or None,
        positive_at=float(pos) if pos is not None else None,
    )


def load_config(path: str | Path) -> DomainConfig:
    """Read and validate a domain config; raises DomainError with a one-line reason."""
    cfg_path = find_config(path)
    root = cfg_path.parent
    raw = _read_raw(cfg_path)
    for section in ("items", "interactions"):
        if not isinstance(raw.get(section), dict):
            raise DomainError(f"{cfg_path.name}: missing section [{section}]")
    validate_raw(raw, cfg_path.name)
    name = str(raw.get("name") or root.name)
    if not re.match(r"^[A-Za-z0-9_-]+$", name):
        raise DomainError(f"{cfg_path.name}: name '{name}' may use only letters, digits, '-' and '_'")
    return DomainConfig(
        root=root, config_path=cfg_path, name=name, item_word=str(raw.get("item_word") or "item"),
        description=str(raw.get("description") or ""),
        items=_parse_items(root, raw["items"]), interactions=_parse_interactions(root, raw["interactions"]),
        item_plural=str(raw.get("item_plural") or ""), understanding=_parse_understanding(raw.get("understanding")),
    )


UNDERSTANDING_KEYS = {"synonyms": dict, "units": dict, "time_column": str, "low": dict, "high": dict, "zero": dict,
                      "item_words": list}


def _parse_understanding(raw: Any) -> dict[str, Any]:
    """[understanding]: the domain's own words for reading requests; every key is checked here."""
    where = "[understanding]"
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DomainError(f"{where} must be a table")
    for key, value in raw.items():
        if key not in UNDERSTANDING_KEYS:
            raise DomainError(f"{where}: unknown key '{key}' (known: {', '.join(UNDERSTANDING_KEYS)})")
        if not isinstance(value, UNDERSTANDING_KEYS[key]):
            raise DomainError(f"{where}: '{key}' must be a {UNDERSTANDING_KEYS[key].__name__}")
    for key in ("low", "high", "zero"):
        for col, words in (raw.get(key) or {}).items():
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise DomainError(f"{where}: {key}.{col} must be a list of words")
    return dict(raw)
