"""Generate a synthetic store catalog (items, interaction log, domain.toml) for evaluation.

Why: the agent must work on any catalog brought by config, not only MovieLens. This writes a
catalog with the column kinds a real store has (a category list, a 1,000+-value tag list with multi-word
and hyphenated tags, prices as strings with "Free"/"Free To Play", release dates, a maker with 200+
values, a numeric rating) and a log whose users have tastes (categories, tags, makers), popularity skew,
series played in order and timestamps, so SASRec/ItemCF have something real to learn.
All words are made from synthetic syllables: no real titles, tags or makers.

    python benchmarks/domains/store/generate.py --out /tmp/store [--items 20000] [--users N] [--seed 0]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gl", "k", "kr", "l", "m", "n", "p", "pr", "qu", "r", "s",
          "sk", "st", "t", "tr", "v", "z", "th", "sh"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "y"]
CODAS = ["", "", "n", "r", "l", "x", "th", "m", "k", "s", "nd"]
MAKER_SUFFIXES = ["Studio", "Works", "Labs", "Interactive", "Softworks", "Collective", "Foundry", "House"]
TITLE_SUFFIXES = ["Remastered", "Deluxe", "Origins", "Legacy", "Reborn"]
FREE, F2P = "Free", "Free To Play"
PRICES = np.array([0.99, 1.99, 4.99, 7.99, 9.99, 12.99, 14.99, 19.99, 24.99, 29.99, 39.99, 49.99, 59.99, 69.99])
PRICE_P = np.array([3, 5, 12, 8, 14, 9, 10, 11, 6, 7, 5, 3, 5, 2], dtype=float)


def _words(rng: np.random.Generator, n: int, syllables: tuple[int, int], taken: set[str]) -> list[str]:
    """n distinct pseudo-words of 1-3 syllables (lower case), none already in `taken`."""
    out: list[str] = []
    while len(out) < n:
        k = int(rng.integers(syllables[0], syllables[1] + 1))
        w = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(k)) + str(rng.choice(CODAS))
        if 3 <= len(w) <= 11 and w not in taken:
            taken.add(w)
            out.append(w)
    return out


def _tags(rng: np.random.Generator, base: list[str], n: int) -> list[str]:
    """Distinct tags: single words, two-word phrases, hyphenated pairs, three-word phrases."""
    tags: list[str] = []
    seen: set[str] = set()
    while len(tags) < n:
        r = rng.random()
        a, b, c = (str(x) for x in rng.choice(base, 3, replace=False))
        t = a if r < 0.3 else f"{a} {b}" if r < 0.6 else f"{a}-{b}" if r < 0.8 else f"{a} {b} {c}"
        if r >= 0.9:
            t = f"{a}-{b} {c}"
        if t not in seen:
            seen.add(t)
            tags.append(t)
    return tags


def _zipf_weights(rng: np.random.Generator, n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return rng.permutation(w) / w.sum()


def generate(out: Path, n_items: int = 20000, n_users: int | None = None, seed: int = 0) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    n_users = n_users or max(50, n_items // 6)
    taken: set[str] = set()
    categories = [w.capitalize() for w in _words(rng, 20, (2, 2), taken)]
    tag_words = _words(rng, 260, (1, 2), taken)
    tags = _tags(rng, tag_words, 1400)
    makers = [f"{w.capitalize()} {rng.choice(MAKER_SUFFIXES)}" for w in _words(rng, 240, (2, 3), taken)]
    title_words = np.array([w.capitalize() for w in _words(rng, 1500, (1, 3), taken)])

    n_cat, n_tag, n_mk = len(categories), len(tags), len(makers)
    tag_home = rng.integers(0, n_cat, n_tag)  # each tag belongs mostly to one category
    tag_pop = _zipf_weights(rng, n_tag, 0.9)
    tag_cum = np.minimum(np.cumsum(tag_pop), 1.0)
    tag_cum[-1] = 1.0
    cat_tags = [np.flatnonzero(tag_home == c) for c in range(n_cat)]
    maker_cats = [rng.choice(n_cat, int(rng.integers(1, 4)), replace=False) for _ in range(n_mk)]
    maker_size = _zipf_weights(rng, n_mk, 0.8)

    # Items: a maker, 1-3 categories (mostly the maker's), 3-9 tags (mostly from those categories).
    maker = rng.choice(n_mk, n_items, p=maker_size)
    quality = rng.lognormal(0.0, 1.1, n_items)
    item_cats: list[list[int]] = []
    item_tags: list[list[int]] = []
    log_tag_pop = np.log(tag_pop)
    for i in range(n_items):
        mc = maker_cats[maker[i]]
        cats = {int(mc[int(rng.integers(len(mc)))])}
        while rng.random() < 0.45 and len(cats) < 3:
            cats.add(int(mc[int(rng.integers(len(mc)))]) if rng.random() < 0.5 else int(rng.integers(n_cat)))
        pool = np.concatenate([cat_tags[c] for c in cats])
        k = int(rng.integers(3, 10))
        keys = log_tag_pop[pool] - np.log(-np.log(rng.random(len(pool))))  # Gumbel top-k: weighted, no repeats
        chosen = [int(t) for t in pool[np.argsort(-keys)[:k]]]
        if rng.random() < 0.3:
            extra = int(np.searchsorted(tag_cum, rng.random()))
            chosen += [extra] if extra not in chosen else []
        item_cats.append(sorted(cats))
        item_tags.append(chosen)

    # Titles, with series (2-4 installments by the same maker, released in order).
    titles: list[str] = []
    series_next = np.full(n_items, -1)
    used: set[str] = set()
    release = rng.beta(3.0, 1.3, n_items) * (2026.8 - 1998) + 1998  # skewed to recent years
    i = 0
    while i < n_items:
        base = " ".join(title_words[rng.integers(0, len(title_words), int(rng.integers(1, 4)))].tolist())
        if base in used:
            continue
        used.add(base)
        length = int(rng.choice([1, 2, 3, 4], p=[0.82, 0.1, 0.05, 0.03])) if i + 4 < n_items else 1
        titles.append(base)
        for k in range(1, length):
            j = i + k
            titles.append(f"{base} {k + 1}" if rng.random() < 0.8 else f"{base} {rng.choice(TITLE_SUFFIXES)}")
            maker[j] = maker[i]
            item_cats[j] = item_cats[i]
            item_tags[j] = list(dict.fromkeys(item_tags[i][:4] + item_tags[j][:3]))
            release[j] = min(2026.8, release[j - 1] + rng.uniform(1.0, 4.0))
            series_next[j - 1] = j
        i += length
    titles = titles[:n_items]

    free_kind = rng.random(n_items)
    price = np.where(free_kind < 0.10, FREE, np.where(free_kind < 0.16, F2P, ""))
    paid = price == ""
    price[paid] = [f"${p:.2f}" for p in rng.choice(PRICES, int(paid.sum()), p=PRICE_P / PRICE_P.sum())]
    rating = np.clip(np.round(2.2 + 0.45 * np.log1p(quality) * 2 + rng.normal(0, 0.6, n_items), 1), 1.0, 5.0)
    days = ((release - 1970) * 365.25).astype(np.int64)
    dates = np.datetime_as_string(np.datetime64("1970-01-01") + days.astype("timedelta64[D]"), unit="D")

    # Pools for the log: items by category, tag, maker; each weighted by quality (popularity skew).
    def pools(groups: list[list[int]], n: int) -> list[np.ndarray]:
        members: list[list[int]] = [[] for _ in range(n)]
        for it, gs in enumerate(groups):
            for g in gs:
                members[g].append(it)
        return [np.array(m, dtype=np.int64) for m in members]

    by_cat, by_tag = pools(item_cats, n_cat), pools(item_tags, n_tag)
    by_mk = pools([[int(m)] for m in maker], n_mk)
    cums = {id(p): np.cumsum(quality[p]) for p in (*by_cat, *by_tag, *by_mk) if len(p)}
    q_cum = np.cumsum(quality)

    def draw(pool: np.ndarray) -> int:
        """One item of the pool, chosen in proportion to its quality (the popularity skew)."""
        if len(pool) == 0:
            return int(min(n_items - 1, np.searchsorted(q_cum, rng.random() * q_cum[-1])))
        c = cums[id(pool)]
        return int(pool[min(len(pool) - 1, np.searchsorted(c, rng.random() * c[-1]))])

    empty = np.array([], dtype=np.int64)
    rows: list[tuple[int, int, int]] = []
    t0, t1 = 1_546_300_800, 1_795_000_000  # 2019-01-01 .. 2026-11
    for u in range(n_users):
        fav_cats = rng.choice(n_cat, int(rng.integers(1, 3)), replace=False)
        fav_tags = np.concatenate([cat_tags[c][np.argsort(-(log_tag_pop[cat_tags[c]] - np.log(
            -np.log(rng.random(len(cat_tags[c]))))))[:3]] for c in fav_cats])
        fav_mk = rng.choice(n_mk, int(rng.integers(1, 3)), p=maker_size)
        n = int(min(300, 4 + rng.geometric(1 / 16)))
        seen: set[int] = set()
        ts = int(rng.integers(t0, t1 - 86400 * 400))
        nxt = -1
        for _ in range(n * 2):
            if len(seen) >= n:
                break
            r = rng.random()
            if nxt >= 0 and r < 0.6:
                it = nxt
            elif r < 0.35:
                it = draw(by_tag[int(fav_tags[int(rng.integers(len(fav_tags)))])])
            elif r < 0.6:
                it = draw(by_cat[int(fav_cats[int(rng.integers(len(fav_cats)))])])
            elif r < 0.75:
                it = draw(by_mk[int(fav_mk[int(rng.integers(len(fav_mk)))])])
            else:
                it = draw(empty)
            if it in seen:
                nxt = -1
                continue
            seen.add(it)
            ts += int(rng.exponential(86400 * 6)) + 60
            rows.append((u + 1, it + 1, ts))
            nxt = int(series_next[it])

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "items.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "categories", "tags", "price", "release_date", "developer", "rating"])
        for i in range(n_items):
            cats = [categories[c] for c in item_cats[i]] + ([F2P] if price[i] == F2P else [])
            w.writerow([i + 1, titles[i], ";".join(cats), ";".join(tags[t] for t in item_tags[i]), price[i],
                        dates[i], makers[maker[i]], f"{rating[i]:.1f}"])
    with open(out / "interactions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id", "timestamp"])
        w.writerows(rows)
    (out / "domain.toml").write_text(DOMAIN_TOML, encoding="utf-8")
    return {"items": n_items, "users": n_users, "interactions": len(rows),
            "tags": len({t for ts_ in item_tags for t in ts_}), "makers": len(set(maker.tolist()))}


DOMAIN_TOML = """# Synthetic store catalog written by benchmarks/domains/store/generate.py (regenerate, don't edit).
name = "store"
item_word = "game"
description = "A synthetic game store: categories, player tags, prices, release dates and developers."

[items]
path = "items.csv"
id = "item_id"
title = "title"
lists = { categories = ";", tags = ";" }
numbers = ["rating"]
dates = ["release_date"]
text = ["developer"]

# Prices are strings ("$12.99", "Free", "Free To Play"); the number in US dollars, free ones as 0.
[items.derive.price]
from = "price"
regex = '\\$\\s*([0-9]+(?:\\.[0-9]+)?)'
type = "number"
values = { "free" = "0", "free to play" = "0" }

[items.describe]
categories = "store categories of the game"
tags = "tags players gave the game"
price = "price in US dollars (0 = free)"
release_date = "release date"
developer = "the studio that made the game"
rating = "average player rating from 1 to 5 stars"

[interactions]
path = "interactions.csv"
user = "user_id"
item = "item_id"
time = "timestamp"
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder to write items.csv, interactions.csv, domain.toml")
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--users", type=int, default=None, help="default: items / 6 (about 20 interactions each)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.items < 100:
        ap.error("--items must be at least 100")
    t = time.perf_counter()
    stats = generate(a.out, a.items, a.users, a.seed)
    print(f"wrote {a.out} in {time.perf_counter() - t:.1f}s: " + ", ".join(f"{k} {v}" for k, v in stats.items()))


if __name__ == "__main__":
    main()
